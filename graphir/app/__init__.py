"""The application layer: the backend-facing facade (:mod:`graphir.app.api`) and the
command line (:mod:`graphir.app.cli`).  Only this layer and ``graphir.backends``
import ``graphir.backends``; the core never does."""

"""Graph passes: pure ``Graph -> Graph`` transformations, one per module (see specs/passes.md)."""

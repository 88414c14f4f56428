"""Policy model, loader with validation, condition matchers and the compiled evaluator."""

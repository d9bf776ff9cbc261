"""Model assets and runners: the bundled Smart Turn ONNX and its GPU-ready variants."""

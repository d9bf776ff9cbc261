"""Smart Turn served on NVIDIA Triton Inference Server (`switchboard turn-server`)."""

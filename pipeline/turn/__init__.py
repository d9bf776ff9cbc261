"""End-of-turn detection: the shared batched Smart Turn engine and its Pipecat analyzer."""

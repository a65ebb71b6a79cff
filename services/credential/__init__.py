"""The credential service: each learner's connected trail, and credentials anyone can verify."""

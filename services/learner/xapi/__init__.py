"""The xAPI 2.0 Learning Record Store of the learner service (``/xapi``)."""

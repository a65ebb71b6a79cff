"""The learner service: learners, training centres and everything they submit."""

"""How both sides learn: skill curves, doctrine learners, lesson diffusion, the drone side."""

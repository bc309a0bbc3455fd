"""QAOA: problem generators and the driver that picks angles, samples and compares with classical solvers."""

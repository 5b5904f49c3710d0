"""Kernel throughput (kind B) and the CI speed gate: cases.py builds every fast path beside its
reference, peers and bound; test_kernel_throughput.py writes the tables; gate.py and baseline.json
hold the regression gate that test_kernel_gate.py runs in the plain pytest."""

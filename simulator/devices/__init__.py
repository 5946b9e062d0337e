"""Simulated units that answer polls over real protocols: the SonicOS REST API over HTTPS
and SNMP, driven by the same scenario plans as the simulator's syslog (see farm.py)."""

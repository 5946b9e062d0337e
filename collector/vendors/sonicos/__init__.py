"""SonicOS syslog: the message catalog, the SQL parser over a batch of lines, and the C
line scanner (fastscan.c) that extracts the same fields when it is built."""

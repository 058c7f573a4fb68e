"""CRUSH: the placement function, bit for bit what Ceph's src/crush computes.

Pure code with no I/O: the map model (`map`), hashes (`hash`, `ln`), bucket choose
functions (`buckets`), rule interpretation (`mapper`), Ceph's text and binary formats
(`compiler`, `decompiler`, `codec`) and `crushtool --test` (`tester`).
"""

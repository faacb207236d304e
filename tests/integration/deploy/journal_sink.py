#!/usr/bin/env python3
# A stand-in for systemd-journald: receives native-protocol datagrams on
# the socket path given and writes each entry (its fields) as one line.
# Used by test_deploy.sh inside a private mount namespace.
import socket, sys, struct, os
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "w") as f:
    f.write("ready\n"); f.flush()
    while True:
        d = s.recv(65536)
        fields = {}
        while d:
            nl = d.index(b"\n")
            line = d[:nl]
            if b"=" in line:
                k, v = line.split(b"=", 1); d = d[nl + 1:]
            else:
                k = line; n = struct.unpack("<Q", d[nl + 1:nl + 9])[0]
                v = d[nl + 9:nl + 9 + n]; d = d[nl + 10 + n:]
            fields[k.decode()] = v.decode()
        f.write(repr(fields) + "\n"); f.flush()

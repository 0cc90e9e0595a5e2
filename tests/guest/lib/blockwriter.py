#!/usr/bin/python3
"""A writer whose every completed write can be checked after a power loss.

  blockwriter.py write DEV LOG REGION SEED
  blockwriter.py verify DEV LOG

write: one 4 KiB block at a time, O_DIRECT|O_DSYNC (the write is durable
when pwrite() returns, whatever caches lie below), at offsets drawn from
random.Random(SEED) within the first REGION bytes of DEV, until killed or
the machine dies.  After each completed write one line "SEQ OFFSET CRC32"
is appended to LOG with a single write(): LOG is on the 9p share
(cache=none), so the line is on the host when write() returns, and a reset
cannot take it back.  The first line is "seed SEED REGION".

verify: for every offset LOG names, the block on DEV must be the last
write logged there: header (magic, seq, offset) and crc32 of the block.
One write may have been in flight at the reset (issued, not logged): its
offset is the next draw of the same generator, and that block may hold
either its logged predecessor or the in-flight block.  A partial last line
counts as in flight.  Prints the counts; exit status 1 on any mismatch.

Why not fio: its power-cut support (verify_state_save with --trigger in
client/server mode) needs a client on a machine that survives the reset
and stops its jobs before running the trigger, so no write is in flight;
this guest has no network to the host, and a client inside dies with it.
"""
import mmap
import os
import random
import struct
import sys
import zlib

BS = 4096
MAGIC = b"NVRPLW01"
HDR = struct.Struct("<8sQQ")	# magic, seq, offset


def block(seq, off):
    """The block the writer writes as write number SEQ at OFF."""
    body = random.Random(seq * 1000003 + off).randbytes(BS - HDR.size)
    return HDR.pack(MAGIC, seq, off) + body


def offsets(seed, region):
    rng = random.Random(seed)
    nblocks = region // BS
    while True:
        yield rng.randrange(nblocks) * BS


def write(dev, log, region, seed):
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT | os.O_DSYNC)
    lfd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    os.write(lfd, b"seed %d %d\n" % (seed, region))
    buf = mmap.mmap(-1, BS)	# page aligned, as O_DIRECT wants
    seq = 0
    for off in offsets(seed, region):
        seq += 1
        data = block(seq, off)
        buf.seek(0)
        buf.write(data)
        if os.pwritev(fd, [buf], off) != BS:
            sys.exit("short write at %d" % off)
        os.write(lfd, b"%d %d %d\n" % (seq, off, zlib.crc32(data)))


def read_block(fd, buf, off):
    if os.preadv(fd, [buf], off) != BS:
        raise OSError("short read at %d" % off)
    return bytes(buf)


def verify(dev, log):
    with open(log, "rb") as f:
        text = f.read()
    lines = text.split(b"\n")
    partial = lines.pop()	# b"" if the log ends with a newline
    head = lines.pop(0).split()
    if head[0] != b"seed":
        sys.exit("%s: no seed line" % log)
    seed, region = int(head[1]), int(head[2])
    last = {}
    nseq = 0
    for ln in lines:
        seq, off, crc = (int(x) for x in ln.split())
        if seq != nseq + 1:
            sys.exit("%s: seq %d after %d" % (log, seq, nseq))
        nseq = seq
        last[off] = (seq, crc)
    gen = offsets(seed, region)
    for _ in range(nseq):
        next(gen)
    inflight_seq, inflight_off = nseq + 1, next(gen)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, BS)
    bad = landed = 0
    for off, (seq, crc) in sorted(last.items()):
        got = read_block(fd, buf, off)
        if zlib.crc32(got) == crc and got == block(seq, off):
            continue
        if off == inflight_off and got == block(inflight_seq, off):
            landed += 1
            continue
        bad += 1
        if bad <= 10:
            magic, gseq, goff = HDR.unpack(got[:HDR.size])
            print("MISMATCH at %d: want seq %d, block holds magic %r seq %d offset %d"
                  % (off, seq, magic, gseq, goff))
    inflight_new = inflight_off not in last
    if inflight_new:
        got = read_block(fd, buf, inflight_off)
        landed += got == block(inflight_seq, inflight_off)
    print("writes logged %d, blocks verified %d of %d, bad %d, in-flight write %d at %d %s%s"
          % (nseq, len(last) - bad, len(last), bad, inflight_seq, inflight_off,
             "landed" if landed else "did not land",
             ", partial last log line" if partial else ""))
    return 1 if bad or not last else 0


def main(argv):
    if len(argv) == 6 and argv[1] == "write":
        write(argv[2], argv[3], int(argv[4]), int(argv[5]))
        return 0
    if len(argv) == 4 and argv[1] == "verify":
        return verify(argv[2], argv[3])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

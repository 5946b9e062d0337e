"""Syslog framing: a TCP byte stream, or one datagram, into newline-terminated spool lines.

RFC 6587 gives TCP two framings, and a sender may mix them on one connection (rsyslog's imtcp
decides per frame, and so does this): a frame that starts with a digit is octet-counted,
`<len> <msg>` (`logger --tcp --octet-count`); any other frame is non-transparent, ended by LF,
CRLF or NUL (`logger --tcp` ends lines with LF, Python's SysLogHandler with NUL). A syslog
message starts with `<PRI>`, never with a digit, so the first byte decides. A frame that
starts with a digit but carries no valid count (`2026-11-01 ...`, digits and no space) is read
as non-transparent, and so is a count beyond `max_frame` whose message does not start with
`<`: trusting a count that large would swallow megabytes of the messages after it. Both are
counted as misframed.

Whatever the framing, one spool line is one message. Inside a datagram or an octet-counted
frame, a run of CR, LF or NUL followed by a `<PRI>` header starts a new line: a sender or relay
batched several messages into one (SonicOS text never holds a raw line break). Other line
breaks in a message become one space, so a multi-line message stays one line. A `<PRI>` in the
middle of a line with no break before it is left alone: text that a firewall logs (a URL, a
user name) can hold one, and splitting there would let anyone who can make a firewall log a
string forge a line.

A frame longer than `max_frame` is cut: its first `max_frame` bytes are spooled and the cut is
counted. Standard library only (the listener child never imports duckdb).
"""

from __future__ import annotations

import re

MAX_FRAME = 64 * 1024
HEADER_MAX = 11  # up to 10 digits and the space
TERMINATORS = (b"\n", b"\x00")
SEPARATORS = (10, 13, 0)  # LF CR NUL, as ints (what indexing a bytearray gives)
WAIT, NOT_OCTET = -1, -2  # besides positions: more bytes needed; no octet count there

_BOUNDARY = re.compile(rb"[\r\n\x00]+(?=<\d{1,3}>)")  # a break before another message
_CR_BOUNDARY = re.compile(rb"\r+(?=<\d{1,3}>)")  # the same, in a LF/NUL-terminated frame
_DIGIT_FRAME = re.compile(rb"\n[\r\n]*[0-9]")  # a frame after a break that starts with a digit
_NOT_SEPARATOR = re.compile(rb"[^\r\n\x00]")

Out = list[bytes | bytearray]  # the pieces of the lines a feed gives, joined once at its end


def message_lines(message: bytes | bytearray | memoryview) -> tuple[bytes, int]:
    """The spool lines of one received message (a datagram, an octet-counted frame) and how
    many: usually the message and a newline, several lines if it held several messages."""
    message = bytes(message).strip(b"\r\n\x00")
    if not message:
        return b"", 0
    if b"\n" not in message and b"\r" not in message and b"\x00" not in message:
        return message + b"\n", 1
    parts = [
        part.strip(b"\r\n\x00").replace(b"\r\n", b" ").replace(b"\n", b" ")
        for part in _BOUNDARY.split(message)
    ]
    parts = [part for part in parts if part]
    return b"".join(part + b"\n" for part in parts), len(parts)


def resplit(block: bytes) -> tuple[bytes, int]:
    """Newline-terminated lines, each a message once, again through `message_lines`: for a
    batch of datagrams in which a CR or NUL was found (the datagram loop looks for LF only)."""
    out: Out = []
    for line in block.split(b"\n")[:-1]:
        out.append(message_lines(line)[0] if b"\r" in line or b"\x00" in line else line + b"\n")
    joined = b"".join(out)
    return joined, joined.count(b"\n")


def _normalise(block: bytes) -> bytes:
    """LF/NUL-terminated frames -> LF lines: CRLF ends a line too, CR before a `<PRI>` header
    starts one, and empty lines go."""
    if b"\r" in block:
        block = _CR_BOUNDARY.sub(b"\n", block).replace(b"\r\n", b"\n")
    while b"\n\n" in block:
        block = block.replace(b"\n\n", b"\n")
    return block[1:] if block.startswith(b"\n") else block


class Framer:
    """Turns one TCP connection's byte stream into newline-terminated spool lines.

    Memory is bounded: `want()` never lets the pending bytes exceed one maximal frame.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self.pending = bytearray()
        self.skip = 0  # bytes of a cut octet-counted frame still to discard
        self.discarding = False  # inside the rest of a cut non-transparent frame
        self.frames_cut = 0
        self.bytes_cut = 0
        self.misframed = 0
        self.misframe_sample = b""  # the start of the first misframed frame, for the log

    def want(self) -> int:
        """How many bytes the next recv may take."""
        return max(1, self.max_frame + HEADER_MAX + 1 - len(self.pending))

    def feed(self, data: bytes | bytearray | memoryview) -> tuple[bytes, int]:
        """Add received bytes; return the complete lines they finish and how many."""
        self.pending += data
        out: Out = []
        self._frames(out)
        block = b"".join(out)
        return block, block.count(b"\n")

    def finish(self, cut: bool = False) -> tuple[bytes, int]:
        """The unterminated rest at end of stream (counted as cut if the stream was stopped
        mid-frame, or an octet-counted frame is short)."""
        buf, short = self.pending, False
        header = self._count(buf, 0) if buf[:1].isdigit() else NOT_OCTET
        if isinstance(header, tuple):
            del buf[: header[1]]  # a short octet-counted frame: its body, without the count
            short = True
        if self.discarding or self.skip:
            rest, count = b"", 0
        else:
            rest, count = message_lines(buf)
        if rest and (cut or short):
            self.frames_cut += 1
        buf.clear()
        return rest, count

    def _frames(self, out: Out) -> None:
        """Take every complete frame from the pending bytes, deciding the framing per frame.

        Walks an index and trims the buffer once: deleting per frame would move the rest of
        a 64 KiB buffer for every frame."""
        buf, pos = self.pending, 0
        try:
            while pos < len(buf):
                if self.skip:
                    taken = min(self.skip, len(buf) - pos)
                    pos, self.skip = pos + taken, self.skip - taken
                elif self.discarding:
                    pos = self._discard(buf, pos)
                elif buf[pos] in SEPARATORS:  # LF/CR/NUL between frames
                    pos += 1
                    if pos < len(buf) and buf[pos] in SEPARATORS:  # a run: skip it in C
                        found = _NOT_SEPARATOR.search(buf, pos)
                        pos = found.start() if found else len(buf)
                else:
                    after = self._frame(buf, pos, out)
                    if after == WAIT:
                        return
                    pos = after
        finally:
            del buf[:pos]

    def _frame(self, buf: bytearray, pos: int, out: Out) -> int:
        """The frame(s) at `pos`: the position after what was taken, or WAIT."""
        digit = 48 <= buf[pos] <= 57
        header = self._count(buf, pos) if digit else NOT_OCTET
        if header == WAIT:
            return WAIT
        if isinstance(header, tuple):
            return self._octet_frame(buf, header, out)
        after = self._plain_frames(buf, pos, out)
        if after == pos:  # an unterminated frame: wait for the rest, or cut it
            self._cut_plain(buf, pos, out)
            return WAIT
        if digit:
            self.misframed += 1
            if not self.misframe_sample:
                self.misframe_sample = bytes(buf[pos : min(pos + 24, after)])
        return after

    def _count(self, buf: bytearray, pos: int) -> tuple[int, int] | int:
        """The octet count at `pos` and where its message starts; WAIT while it may still be
        one, NOT_OCTET when the digits there are no count."""
        space = buf.find(b" ", pos, pos + HEADER_MAX + 1)
        if space < 0:
            whole = len(buf) - pos <= HEADER_MAX and buf[pos:].isdigit()
            return WAIT if whole else NOT_OCTET  # the header may still be arriving
        head = buf[pos:space]
        if not head.isdigit() or not int(head):
            return NOT_OCTET
        length, start = int(head), space + 1
        if length > self.max_frame:
            if start >= len(buf):
                return WAIT  # is a message (`<`) next? its first byte tells
            if buf[start] != 60:
                return NOT_OCTET
        return length, start

    def _octet_frame(self, buf: bytearray, header: tuple[int, int], out: Out) -> int:
        """The `<len> <msg>` frame whose message starts at `start`: the position after it,
        or WAIT."""
        length, start = header
        body = min(length, self.max_frame)
        if len(buf) < start + body:
            return WAIT
        end = start + body
        if (
            buf.find(b"\n", start, end) < 0
            and buf.find(b"\x00", start, end) < 0
            and buf.find(b"\r", start, end) < 0
        ):
            out += (buf[start:end], b"\n")  # the usual frame: one message, no line break
        else:
            out.append(message_lines(buf[start:end])[0])
        if length > body:
            self.frames_cut += 1
            self.bytes_cut += length - body
            self.skip = length - body
        return start + body

    def _plain_frames(self, buf: bytearray, pos: int, out: Out) -> int:
        """The terminated frames from `pos` on, in bulk (no Python loop per line), up to the
        next frame that starts with a digit; the position after the last one taken."""
        last = max(buf.rfind(b"\n", pos), buf.rfind(b"\x00", pos))
        if last < 0:
            return pos
        block = bytes(buf[pos : last + 1]).replace(b"\x00", b"\n")  # same length: offsets hold
        digit = _DIGIT_FRAME.search(block)
        if digit:
            block = block[: digit.start() + 1]
        out.append(_normalise(block))
        return pos + len(block)

    def _cut_plain(self, buf: bytearray, pos: int, out: Out) -> None:
        """An unterminated frame at `pos` longer than max_frame: spool its start, drop the
        rest up to its terminator."""
        if len(buf) - pos <= self.max_frame:
            return
        block, _ = message_lines(buf[pos : pos + self.max_frame])
        out.append(block)
        self.frames_cut += 1
        self.bytes_cut += len(buf) - pos - self.max_frame
        del buf[pos:]
        self.discarding = True

    def _discard(self, buf: bytearray, pos: int) -> int:
        """Inside a cut frame: skip to just after its terminator (or the end of `buf`)."""
        ends = [i for i in (buf.find(t, pos) for t in TERMINATORS) if i >= 0]
        if not ends:
            self.bytes_cut += len(buf) - pos
            return len(buf)
        self.bytes_cut += min(ends) - pos
        self.discarding = False
        return min(ends) + 1

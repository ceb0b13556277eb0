"""Structural check of JPEG data, for damage the decoders let through.

libjpeg (behind OpenCV and Pillow) decodes a JPEG whose compressed data is garbled or cut short
with only a warning on stderr ("Corrupt JPEG data", "Premature end of JPEG file") that names no
file, and returns an image of grey or smeared blocks. :func:`jpeg_damage` walks the file's marker
structure (ITU-T T.81, Annex B) instead:

- the file starts with SOI (``FF D8``); each marker segment before a scan has a 2-byte length that
  stays inside the file;
- in the entropy-coded data of a scan, ``FF`` may only be followed by ``00`` (a stuffed byte),
  ``D0``-``D7`` (restart markers), ``FF`` (fill) or the marker that ends the scan: EOI, or, in
  progressive files, a table or the next SOS; any other pair is damage (random bytes produce one
  about every 300 bytes);
- the data ends with EOI (``FF D9``); bytes after it are ignored.

Damage that keeps this structure (a few flipped bits) is not found; the check costs one pass over
the bytes in C (``bytes.find``), a small fraction of the decoding time.
"""
from typing import Optional

__all__ = ['jpeg_damage', 'is_jpeg']

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_STANDALONE = set(range(0xD0, 0xD8)) | {0x01}
# markers that may end a scan and start a segment with a length: SOFn, DHT, DAC, DQT, DNL, DRI,
# DHP, EXP, APPn, JPGn, COM (not SOI, EOI, RSTn, TEM, reserved 0x02-0xBF)
_SEGMENT = set(range(0xC0, 0xD0)) | set(range(0xDA, 0xF0)) | set(range(0xF0, 0xFF))
# markers that may follow the entropy-coded data of a scan: DHT, DAC, SOS, DQT, DNL, DRI, APPn, COM
_AFTER_SCAN = {0xC4, 0xCC, 0xDA, 0xDB, 0xDC, 0xDD, 0xFE} | set(range(0xE0, 0xF0))


def is_jpeg(data: bytes) -> bool:
    return data[:2] == b'\xff\xd8'


def jpeg_damage(data: bytes) -> Optional[str]:
    """What is wrong with the JPEG ``data`` (module docstring), or None if its structure is sound."""
    if not is_jpeg(data):
        return 'it does not start with the JPEG start-of-image marker'
    pos, size = 2, len(data)
    while True:
        # a marker: FF (fill FFs allowed) then its code
        if pos >= size:
            return f'the JPEG data ends at byte {size} without its end-of-image marker (truncated)'
        if data[pos] != 0xFF:
            return f'the JPEG data is corrupt at byte {pos}: a marker was expected'
        while pos < size and data[pos] == 0xFF:
            pos += 1
        if pos >= size:
            return f'the JPEG data ends at byte {size} without its end-of-image marker (truncated)'
        code = data[pos]
        pos += 1
        if code == _EOI:
            return None
        if code in _STANDALONE:
            continue
        if code not in _SEGMENT:
            return f'the JPEG data is corrupt at byte {pos - 2}: invalid marker FF {code:02X}'
        if pos + 2 > size:
            return f'the JPEG data ends at byte {size} inside a marker segment (truncated)'
        length = int.from_bytes(data[pos:pos + 2], 'big')
        if length < 2 or pos + length > size:
            return (f'the JPEG data is corrupt or truncated at byte {pos - 2}: marker FF {code:02X} '
                    f'announces {length} bytes, {size - pos} are left')
        pos += length
        if code != _SOS:
            continue
        # entropy-coded data: skip to the first FF that is not stuffing, a restart or fill
        while True:
            pos = data.find(b'\xff', pos)
            if pos < 0 or pos + 1 >= size:
                return (f'the JPEG data ends at byte {size} inside the compressed image data, '
                        'without its end-of-image marker (truncated)')
            nxt = data[pos + 1]
            if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                pos += 2
                continue
            if nxt == 0xFF:  # fill bytes before a marker
                pos += 1
                continue
            if nxt == _EOI or nxt in _AFTER_SCAN:
                break  # the scan ends; the outer loop reads this marker
            return f'the JPEG data is corrupt at byte {pos}: invalid marker FF {nxt:02X} in the ' \
                   'compressed image data'

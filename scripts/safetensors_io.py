"""save_safetensors: the safetensors writer of sgdlab's Python scripts (Debian ships no safetensors module).

The format is 8 bytes of little-endian header length, a JSON header, then the raw little-endian F32
tensors. Written to a temporary file in the same folder, flushed to disk and renamed over `path`, so
an existing file is replaced only by a complete new one.
"""
import json
import os
import struct
import tempfile

import torch


def save_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text)
            for blob in blobs:
                f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; a saved model should get the mode any new file gets (the umask's)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)  # our own temporary file, never the user's
        raise

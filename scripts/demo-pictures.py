#!/usr/bin/env python3
"""Draws the demo catalog's product pictures: backend/demo/<sku>.png, 640x480.

Flat illustrations made of a few shapes each, so they look the same on every device (the demo
used to show emoji, which depend on the phone's font and are boxes on a desktop without an
emoji font), weigh a few KB, and need nothing but the Python standard library to redraw. The
seed (backend/src/seed.rs) passes them through the same image pipeline as a merchant's upload
(resized widths, srcset); the files are committed, so building the shop never runs this.

    python3 scripts/demo-pictures.py     # rewrites backend/demo/*.png

How it draws: every shape becomes a polygon (an ellipse is a 72-gon), filled span by span on a
canvas twice the size in each direction, then averaged 2x2 down to 640x480 (anti-aliased edges).
"""
import math
import os
import struct
import zlib

W, H = 640, 480
SS = 2  # samples per pixel in each direction
CW, CH = W * SS, H * SS
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "backend", "demo")


def hex_rgb(h):
    h = h.lstrip("#")
    return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))


def mix(a, b, t):
    """`t` of colour b over colour a."""
    a, b = hex_rgb(a) if isinstance(a, str) else a, hex_rgb(b) if isinstance(b, str) else b
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))


def pack(c):
    c = hex_rgb(c) if isinstance(c, str) else c
    return (c[0] << 16) | (c[1] << 8) | c[2]


# ---- shapes, in a 400x300 design space -------------------------------------------------------

def ellipse(cx, cy, rx, ry, angle=0.0, n=72):
    a = math.radians(angle)
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        pts.append((cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a)))
    return pts


def arc(cx, cy, rx, ry, start, end, n=36):
    """Points along an ellipse from `start` to `end` degrees (0 = right, 90 = down)."""
    return [
        (cx + rx * math.cos(math.radians(start + (end - start) * i / n)),
         cy + ry * math.sin(math.radians(start + (end - start) * i / n)))
        for i in range(n + 1)
    ]


def rrect(x, y, w, h, r):
    pts = []
    for cx, cy, a0 in ((x + w - r, y + r, -90), (x + w - r, y + h - r, 0), (x + r, y + h - r, 90), (x + r, y + r, 180)):
        pts += arc(cx, cy, r, r, a0, a0 + 90, 8)
    return pts


def rotate(pts, cx, cy, angle):
    a = math.radians(angle)
    return [(cx + (x - cx) * math.cos(a) - (y - cy) * math.sin(a), cy + (x - cx) * math.sin(a) + (y - cy) * math.cos(a)) for x, y in pts]


def star(cx, cy, r_out, r_in, n=5, angle=-90):
    pts = []
    for i in range(2 * n):
        r = r_out if i % 2 == 0 else r_in
        t = math.radians(angle + 180 * i / n)
        pts.append((cx + r * math.cos(t), cy + r * math.sin(t)))
    return pts


# ---- the rasteriser --------------------------------------------------------------------------

def fill(canvas, pts, colour, even_odd=False):
    """Fills a polygon given in design units on the supersampled canvas (non-zero rule)."""
    s = CW / 400
    p = [(x * s, y * s) for x, y in pts]
    c = pack(colour)
    ys = [y for _, y in p]
    y0, y1 = max(0, int(min(ys))), min(CH - 1, int(max(ys)) + 1)
    edges = list(zip(p, p[1:] + p[:1]))
    for row in range(y0, y1 + 1):
        yc = row + 0.5
        xs = []
        for (ax, ay), (bx, by) in edges:
            if (ay <= yc < by) or (by <= yc < ay):
                xs.append((ax + (yc - ay) * (bx - ax) / (by - ay), 1 if by > ay else -1))
        if not xs:
            continue
        xs.sort()
        line = canvas[row]
        wind = 0
        for i, (x, d) in enumerate(xs[:-1]):
            wind = wind + 1 if even_odd else wind + d
            inside = (wind % 2 == 1) if even_odd else wind != 0
            if inside:
                a = max(0, int(x + 0.5))
                b = min(CW, int(xs[i + 1][0] + 0.5))
                if b > a:
                    line[a:b] = [c] * (b - a)


def ring(canvas, cx, cy, rx, ry, width, colour):
    outer = ellipse(cx, cy, rx, ry)
    inner = ellipse(cx, cy, rx - width, ry - width)
    fill(canvas, outer + [outer[0]] + inner[::-1] + [inner[0]], colour, even_odd=True)


def background(base):
    """A soft vertical wash of the product's colour, with a round spot behind the object."""
    top, bottom = mix("#ffffff", base, 0.10), mix("#ffffff", base, 0.26)
    canvas = []
    for row in range(CH):
        canvas.append([pack(mix(top, bottom, row / (CH - 1)))] * CW)
    fill(canvas, ellipse(200, 150, 118, 118), mix("#ffffff", base, 0.34))
    fill(canvas, ellipse(200, 252, 120, 14), mix("#ffffff", base, 0.42))  # the object's shadow
    return canvas


def save(canvas, name):
    raw = bytearray()
    for y in range(H):
        raw.append(0)  # PNG filter: none
        r0, r1 = canvas[y * SS], canvas[y * SS + 1]
        for x in range(W):
            a, b, c, d = r0[2 * x], r0[2 * x + 1], r1[2 * x], r1[2 * x + 1]
            raw += bytes((
                (((a >> 16) & 255) + ((b >> 16) & 255) + ((c >> 16) & 255) + ((d >> 16) & 255) + 2) // 4,
                (((a >> 8) & 255) + ((b >> 8) & 255) + ((c >> 8) & 255) + ((d >> 8) & 255) + 2) // 4,
                ((a & 255) + (b & 255) + (c & 255) + (d & 255) + 2) // 4,
            ))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, f"{name}.png"), "wb") as f:
        f.write(png)
    return len(png)


# ---- the pictures ----------------------------------------------------------------------------

def dress(c):
    base = "#c2185b"
    k = background(base)
    fill(k, [(178, 70), (222, 70), (232, 138), (168, 138)], base)  # bodice
    fill(k, [(168, 138), (232, 138), (290, 248), (110, 248)], base)  # skirt
    for i, col in enumerate(["#ffd54f", "#4fc3f7", "#ffffff"]):  # atlas ikat bands
        y = 168 + i * 26
        fill(k, [(150 - i * 12, y), (250 + i * 12, y), (254 + i * 12, y + 10), (146 - i * 12, y + 10)], col)
    fill(k, [(166, 134), (234, 134), (236, 144), (164, 144)], "#880e4f")  # waist
    fill(k, ellipse(200, 70, 16, 8), mix("#ffffff", base, 0.34))  # neckline
    return save(k, c)


def doppi(c):
    base = "#283593"
    k = background(base)
    fill(k, [(130, 230), (270, 230), (258, 120), (142, 120)], "#212121")
    fill(k, arc(200, 122, 58, 44, 180, 360) + [(258, 122)], "#212121")
    fill(k, [(130, 222), (270, 222), (270, 236), (130, 236)], "#424242")
    for x in (165, 200, 235):  # the white "pepper" motifs
        fill(k, ellipse(x, 172, 11, 22), "#fafafa")
        fill(k, ellipse(x, 172, 5, 12), "#212121")
    return save(k, c)


def chapan(c):
    base = "#6a1b9a"
    k = background(base)
    body = [(170, 62), (230, 62), (262, 80), (300, 170), (276, 180), (256, 132), (258, 250), (142, 250), (144, 132), (124, 180), (100, 170), (138, 80)]
    fill(k, body, base)
    for i in range(5):  # stripes
        x = 152 + i * 22
        fill(k, [(x, 84), (x + 8, 84), (x + 8, 250), (x, 250)], "#ba68c8" if i % 2 else "#4a148c")
    fill(k, [(188, 62), (212, 62), (200, 120)], mix("#ffffff", base, 0.34))  # collar
    fill(k, [(196, 110), (204, 110), (204, 250), (196, 250)], "#ffd54f")  # trim
    return save(k, c)


def bowl(c):
    base = "#0277bd"
    k = background(base)
    fill(k, arc(200, 150, 100, 90, 0, 180) + [(100, 150)], base)
    fill(k, ellipse(200, 150, 100, 24), "#e1f5fe")
    fill(k, ellipse(200, 152, 88, 17), "#b3e5fc")
    for i in range(5):
        fill(k, ellipse(136 + i * 32, 196, 9, 9), "#ffffff")
        fill(k, ellipse(136 + i * 32, 196, 4, 4), "#ffb300")
    fill(k, [(176, 236), (224, 236), (230, 250), (170, 250)], "#01579b")
    return save(k, c)


def teapot(c):
    base = "#00838f"
    k = background(base)
    ring(k, 276, 168, 34, 40, 10, "#00606b")  # handle
    fill(k, [(120, 176), (84, 120), (96, 114), (140, 160)], base)  # spout
    fill(k, ellipse(200, 180, 84, 66), base)
    fill(k, ellipse(200, 118, 44, 12), "#006064")  # lid
    fill(k, ellipse(200, 104, 10, 10), "#ffd54f")
    for i in range(3):  # the cotton-boll pattern
        x = 168 + i * 32
        fill(k, ellipse(x, 182, 12, 12), "#ffffff")
        fill(k, ellipse(x, 182, 4, 4), "#81c784")
    fill(k, [(160, 240), (240, 240), (232, 252), (168, 252)], "#006064")
    return save(k, c)


def suzani(c):
    base = "#ad1457"
    k = background(base)
    fill(k, [(96, 64), (304, 64), (304, 244), (96, 244)], "#fff3e0")
    fill(k, [(96, 64), (304, 64), (304, 74), (96, 74)], "#6d4c41")
    for x, y, r in ((150, 120, 34), (250, 120, 34), (150, 196, 30), (250, 196, 30), (200, 158, 22)):
        fill(k, ellipse(x, y, r, r), "#c62828")
        fill(k, star(x, y, r * 0.8, r * 0.45, 8), "#ff8f00")
        fill(k, ellipse(x, y, r * 0.3, r * 0.3), "#2e7d32")
    return save(k, c)


def apricots(c):
    base = "#ef6c00"
    k = background(base)
    fill(k, arc(200, 196, 100, 56, 0, 180) + [(100, 196)], "#8d6e63")
    for x, y in ((148, 178), (200, 168), (252, 178), (174, 150), (226, 150), (200, 130)):
        fill(k, ellipse(x, y, 30, 24, 15), "#fb8c00")
        fill(k, ellipse(x - 6, y - 6, 12, 8, 15), "#ffb74d")
    fill(k, ellipse(200, 196, 100, 16), "#6d4c41")
    return save(k, c)


def pistachios(c):
    base = "#558b2f"
    k = background(base)
    fill(k, ellipse(200, 190, 104, 16), "#bdbdbd")
    for x, y, a in ((150, 176, -20), (196, 170, 10), (244, 176, 30), (172, 146, 60), (224, 144, -40), (200, 122, 0)):
        fill(k, ellipse(x, y, 28, 18, a), "#d7ccc8")
        fill(k, ellipse(x, y, 18, 9, a), "#7cb342")
        fill(k, ellipse(x, y, 24, 2, a), "#8d6e63")
    fill(k, arc(200, 190, 104, 60, 0, 180) + [(96, 190)], "#e0e0e0")
    return save(k, c)


def tea(c):
    base = "#2e7d32"
    k = background(base)
    fill(k, arc(200, 150, 92, 84, 0, 180) + [(108, 150)], "#ffffff")
    fill(k, ellipse(200, 150, 92, 22), "#f1f8e9")
    fill(k, ellipse(200, 152, 82, 16), "#c5a03f")
    for i, x in enumerate((150, 182, 214, 246)):  # the cotton-pattern band
        fill(k, ellipse(x, 196, 10, 10), "#1565c0")
    for x, y, a in ((300, 100, -30), (112, 96, 40), (320, 190, 20)):
        fill(k, ellipse(x, y, 24, 10, a), "#43a047")
        fill(k, ellipse(x, y, 20, 1.5, a), "#1b5e20")
    return save(k, c)


def plov_book(c):
    base = "#4e342e"
    k = background(base)
    fill(k, rotate([(124, 56), (284, 56), (284, 250), (124, 250)], 200, 150, -6), "#3e2723")
    fill(k, rotate([(134, 56), (284, 56), (284, 250), (134, 250)], 200, 150, -6), "#ffb300")
    fill(k, rotate([(150, 76), (268, 76), (268, 90), (150, 90)], 200, 150, -6), "#5d4037")
    fill(k, ellipse(209, 170, 52, 16, -6), "#ffffff")  # the plate
    fill(k, arc(209, 168, 44, 36, 180, 360) + [(253, 168)], "#f9a825")  # the rice dome
    for x, y in ((196, 146), (214, 140), (228, 154), (204, 158)):
        fill(k, ellipse(x, y, 9, 2.5, 30), "#e65100")  # carrots
    fill(k, ellipse(210, 134, 6, 6), "#795548")
    return save(k, c)


def stickers(c):
    base = "#f9a825"
    k = background(base)
    for (cx, cy, a, col) in ((160, 160, -14, "#1e88e5"), (240, 160, 12, "#43a047"), (200, 136, 0, "#ffffff")):
        fill(k, rotate(rrect(cx - 46, cy - 46, 92, 92, 18), cx, cy, a), col)
    fill(k, star(200, 136, 34, 14, 8), "#00897b")
    fill(k, ellipse(200, 136, 10, 10), "#f9a825")
    fill(k, rotate(star(160, 176, 20, 9, 5), 160, 176, -14), "#ffffff")
    fill(k, rotate(ellipse(240, 178, 18, 18), 240, 178, 12), "#ffffff")
    return save(k, c)


def crown(c):
    base = "#5e35b1"
    k = background(base)
    fill(k, [(120, 210), (112, 104), (156, 150), (200, 86), (244, 150), (288, 104), (280, 210)], "#ffc107")
    fill(k, [(120, 200), (280, 200), (282, 228), (118, 228)], "#ffa000")
    for x, y, col in ((112, 100, "#e53935"), (200, 82, "#1e88e5"), (288, 100, "#e53935")):
        fill(k, ellipse(x, y, 12, 12), col)
    for x, col in ((160, "#43a047"), (200, "#d81b60"), (240, "#43a047")):
        fill(k, ellipse(x, 214, 9, 9), col)
    return save(k, c)


PICTURES = {
    "DRESS": dress, "DOPPI": doppi, "CHAPAN": chapan, "BOWL": bowl, "TEAPOT": teapot,
    "SUZANI": suzani, "APRICOT": apricots, "PISTA": pistachios, "TEA": tea, "PLOV": plov_book,
    "STICKERS": stickers, "CLUB": crown,
}

if __name__ == "__main__":
    for name, draw in PICTURES.items():
        print(f"{name.lower()}.png: {draw(name.lower())} B")

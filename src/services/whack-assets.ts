import { crc32, deflateSync } from "node:zlib";

/**
 * The whack game's seeded assets, generated (deterministic bytes) rather than shipped: a PNG
 * sprite sheet and two short WAV sounds. Placeholder art a client can load and draw as is.
 */
export interface GeneratedAsset {
  name: string;
  contentType: string;
  bytes: Buffer;
}

/** Frames of `moles.png`, left to right, each FRAME px square. */
export const WHACK_SPRITE_FRAMES = ["hole", "normal", "golden", "bomb"] as const;
export const WHACK_SPRITE_FRAME = 64;

export function whackAssets(): GeneratedAsset[] {
  return [
    { name: "moles.png", contentType: "image/png", bytes: spriteSheet() },
    { name: "hit.wav", contentType: "audio/wav", bytes: wav(hitSound()) },
    { name: "bomb.wav", contentType: "audio/wav", bytes: wav(bombSound()) },
  ];
}

type Rgba = [number, number, number, number];
const HOLE: Rgba = [40, 26, 16, 255];
const COLOURS: Record<(typeof WHACK_SPRITE_FRAMES)[number], Rgba> = {
  hole: HOLE,
  normal: [139, 90, 43, 255],
  golden: [230, 180, 30, 255],
  bomb: [30, 30, 30, 255],
};

/** One row of frames: a dark hole in each, and the frame's mole (a disc with eyes) above it. */
function spriteSheet(): Buffer {
  const size = WHACK_SPRITE_FRAME;
  const width = size * WHACK_SPRITE_FRAMES.length;
  const pixels = Buffer.alloc(width * size * 4); // transparent
  const paint = (x: number, y: number, c: Rgba) => pixels.set(c, (y * width + x) * 4);
  WHACK_SPRITE_FRAMES.forEach((frame, i) => {
    const ox = i * size;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const dx = x - size / 2;
        // The hole: an ellipse along the bottom.
        if ((dx / 28) ** 2 + ((y - 52) / 9) ** 2 <= 1) paint(ox + x, y, HOLE);
        if (frame === "hole") continue;
        const r = Math.hypot(dx, y - 30);
        if (r <= 20) paint(ox + x, y, COLOURS[frame]);
        // Eyes (white), or the bomb's red fuse spark.
        if (frame !== "bomb" && (Math.hypot(dx - 7, y - 25) <= 3 || Math.hypot(dx + 7, y - 25) <= 3))
          paint(ox + x, y, [255, 255, 255, 255]);
        if (frame === "bomb" && Math.hypot(dx - 12, y - 10) <= 4) paint(ox + x, y, [220, 40, 30, 255]);
      }
    }
  });
  return png(width, size, pixels);
}

/** A truecolour-with-alpha PNG (filter 0 on every row). */
function png(width: number, height: number, rgba: Buffer): Buffer {
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) rgba.copy(rows, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method variants, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "ascii");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const RATE = 22_050;

/** A short "bonk": a falling tone with a fast decay. */
function hitSound(): Float64Array {
  const samples = new Float64Array(Math.round(RATE * 0.12));
  let phase = 0;
  for (let i = 0; i < samples.length; i++) {
    const t = i / RATE;
    phase += (2 * Math.PI * (880 - 3000 * t)) / RATE;
    samples[i] = Math.sin(phase) * Math.exp(-t * 30);
  }
  return samples;
}

/** A burst of noise (a fixed LCG, so the bytes never change) with a slower decay. */
function bombSound(): Float64Array {
  const samples = new Float64Array(Math.round(RATE * 0.3));
  let state = 0x2545f491;
  for (let i = 0; i < samples.length; i++) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    samples[i] = (state / 0xffffffff - 0.5) * 2 * Math.exp((-i / RATE) * 12);
  }
  return samples;
}

/** 16-bit mono PCM in a RIFF/WAVE container. */
function wav(samples: Float64Array): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32_767 * 0.8), i * 2));
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 2, 28); // byte rate
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write("data", 36, "ascii");
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

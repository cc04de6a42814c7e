// SPEC.md Step 2 exactly as the reference worker does it: sharp, one pipeline per variant,
// each decoding the original again, default output options (same format, JPEG quality 80).
const sharp = require('sharp');
const fs = require('fs');
const path = require('path');

async function main() {
  const [input, outdir] = process.argv.slice(2);
  const imageBuffer = fs.readFileSync(input);
  const metadata = await sharp(imageBuffer).metadata();
  const w = metadata.width, h = metadata.height;
  const variants = [];
  if (w > 400 || h > 400) variants.push({ name: 'thumb', maxDimension: 400 });
  if (w > 1200 || h > 1200) variants.push({ name: 'medium', maxDimension: 1200 });
  if (w > 2400 || h > 2400) variants.push({ name: 'large', maxDimension: 2400 });
  const resized = await Promise.all(variants.map(async (v) => ({
    name: v.name,
    buffer: await sharp(imageBuffer)
      .resize(v.maxDimension, v.maxDimension, { fit: 'inside', withoutEnlargement: true })
      .toBuffer(),
  })));
  fs.mkdirSync(outdir, { recursive: true });
  const ext = { jpeg: 'jpg', png: 'png', webp: 'webp' }[metadata.format] || metadata.format;
  for (const r of resized) fs.writeFileSync(path.join(outdir, `${r.name}.${ext}`), r.buffer);
}

main().catch((e) => { console.error(e); process.exit(1); });

#!/usr/bin/env node
// The reference worker: SPEC.md (Steps 1-8, "Error Handling", "Example Worker Entrypoint")
// read plainly and written out in Node with @aws-sdk/client-s3 and sharp. It is a benchmark
// baseline, NOT an optimised or hardened worker: the steps run one after another as the SPEC
// lists them, each variant decodes the original again, nothing is retried or streamed.
// Additions the SPEC does not have, each needed to run it against the local stack:
//   - R2_ENDPOINT (PRODUCT.md) replaces the R2 endpoint when set; path-style addressing;
//   - `streamToBuffer`, which the SPEC calls but does not define;
//   - the "Original" variant of the Smart Sizing Logic (kept, as is, when the longest side is
//     at most 4000 px), which the SPEC lists but leaves out of its example code.
// HTTP other than S3 uses node's built-in fetch only.
const { S3Client, GetObjectCommand, PutObjectCommand, DeleteObjectCommand } = require('@aws-sdk/client-s3');
const sharp = require('sharp');
const { randomBytes } = require('crypto');

const ORIGINAL_MAX_DIMENSION = 4000; // SPEC Step 2: "Keep if under reasonable size limit (e.g., 4000px)"
const DELETE_STAGING_ORIGINAL = false; // SPEC Step 7: "Recommend NOT deleting here"

async function streamToBuffer(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

// Step 3
function generateAssetId() {
  const timestamp = Date.now().toString(36).toUpperCase();
  const random = randomBytes(8).toString('hex').toUpperCase();
  return `${timestamp}${random}`;
}

async function processImage({ taskId, batchId, input, r2Config, cdnConfig, callbackUrl }) {
  const start = Date.now();
  const s3Client = new S3Client({
    region: 'auto',
    endpoint: process.env.R2_ENDPOINT || `https://${r2Config.accountId}.r2.cloudflarestorage.com`,
    forcePathStyle: true,
    credentials: { accessKeyId: r2Config.accessKeyId, secretAccessKey: r2Config.secretAccessKey },
  });

  // Step 1: download the original from staging.
  let imageBuffer;
  try {
    const downloadResponse = await s3Client.send(new GetObjectCommand({ Bucket: r2Config.bucket, Key: input.r2Key }));
    imageBuffer = await streamToBuffer(downloadResponse.Body);
  } catch (error) {
    throw new Error(`Failed to download image: ${error.message}`);
  }
  const downloadTime = Date.now() - start;

  // Step 2: smart-sized variants, one sharp pipeline each, all at once (Promise.all).
  const resizeStart = Date.now();
  let resizedImages;
  try {
    const metadata = await sharp(imageBuffer).metadata();
    const originalWidth = metadata.width;
    const originalHeight = metadata.height;
    const variants = [];
    if (originalWidth > 400 || originalHeight > 400) variants.push({ name: 'thumb', maxDimension: 400 });
    if (originalWidth > 1200 || originalHeight > 1200) variants.push({ name: 'medium', maxDimension: 1200 });
    if (originalWidth > 2400 || originalHeight > 2400) variants.push({ name: 'large', maxDimension: 2400 });
    resizedImages = await Promise.all(
      variants.map(async (variant) => {
        const resized = await sharp(imageBuffer)
          .resize(variant.maxDimension, variant.maxDimension, { fit: 'inside', withoutEnlargement: true })
          .toBuffer();
        return { name: variant.name, buffer: resized, size: resized.length };
      })
    );
    if (Math.max(originalWidth, originalHeight) <= ORIGINAL_MAX_DIMENSION) {
      resizedImages.push({ name: 'original', buffer: imageBuffer, size: imageBuffer.length });
    }
  } catch (error) {
    throw new Error(`Failed to process image: ${error.message}`);
  }
  const resizeTime = Date.now() - resizeStart;

  // Steps 3 and 4: asset ID, then the variants to the CDN as base64 JSON.
  const cdnStart = Date.now();
  const assetId = generateAssetId();
  const cdnResponse = await fetch(`${cdnConfig.apiUrl}/asset/${assetId}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      variants: resizedImages.map((img) => ({
        name: img.name,
        data: img.buffer.toString('base64'),
        content_type: input.contentType,
        size: img.size,
      })),
      original_filename: input.fileName,
      original_content_type: input.contentType,
      ...(input.cid && { ipfs_cid: input.cid }),
    }),
  });
  if (!cdnResponse.ok) {
    throw new Error(`CDN upload failed: ${cdnResponse.status} ${await cdnResponse.text()}`);
  }
  const cdnResult = await cdnResponse.json();
  const cdnUploadTime = Date.now() - cdnStart;

  // Step 5: the original into the archive bucket under its file name.
  const archiveStart = Date.now();
  const archiveKey = input.fileName;
  try {
    await s3Client.send(new PutObjectCommand({
      Bucket: r2Config.archiveBucket,
      Key: archiveKey,
      Body: imageBuffer,
      ContentType: input.contentType,
      Metadata: {
        'original-r2-key': input.r2Key,
        'batch-id': batchId,
        'task-id': taskId,
        ...(input.cid && { 'ipfs-cid': input.cid }),
      },
    }));
  } catch (error) {
    throw new Error(`Failed to archive image: ${error.message}`);
  }
  const archiveTime = Date.now() - archiveStart;

  // Step 6: the .ref.json beside the original in staging.
  const refData = {
    url: cdnResult.cdnUrl,
    ipfs_cid: input.cid || undefined,
    type: input.contentType,
    size: input.fileSize,
    filename: input.fileName,
  };
  const refJsonKey = `${input.r2Key}.ref.json`;
  await s3Client.send(new PutObjectCommand({
    Bucket: r2Config.bucket,
    Key: refJsonKey,
    Body: JSON.stringify(refData, null, 2),
    ContentType: 'application/json',
  }));

  // Step 7 (optional, off as the SPEC recommends).
  if (DELETE_STAGING_ORIGINAL) {
    await s3Client.send(new DeleteObjectCommand({ Bucket: r2Config.bucket, Key: input.r2Key }));
  }

  // Step 8: the success callback.
  await sendCallback(callbackUrl, {
    task_id: taskId,
    batch_id: batchId,
    status: 'success',
    ref_json_r2_key: refJsonKey,
    ref_data: refData,
    archive_r2_key: archiveKey,
    performance: {
      total_time_ms: Date.now() - start,
      download_time_ms: downloadTime,
      resize_time_ms: resizeTime,
      cdn_upload_time_ms: cdnUploadTime,
      archive_time_ms: archiveTime,
    },
  });
}

// A callback that cannot be delivered is logged; the job still counts (SPEC Testing Checklist).
async function sendCallback(callbackUrl, payload) {
  try {
    const callbackResponse = await fetch(callbackUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
    });
    if (!callbackResponse.ok) {
      console.error(`Callback failed: ${callbackResponse.status}`);
    }
  } catch (error) {
    console.error(`Callback failed: ${error.message}`);
  }
}

// "Example Worker Entrypoint"; a failed step sends the error callback before exiting 1.
async function main() {
  const startTime = Date.now();
  try {
    console.log(`[Worker] Starting image processing for task ${process.env.TASK_ID}`);
    await processImage({
      taskId: process.env.TASK_ID,
      batchId: process.env.BATCH_ID,
      input: {
        r2Key: process.env.INPUT_R2_KEY,
        fileName: process.env.INPUT_FILE_NAME,
        contentType: process.env.INPUT_CONTENT_TYPE,
        fileSize: parseInt(process.env.INPUT_FILE_SIZE),
        cid: process.env.INPUT_CID,
      },
      r2Config: {
        accountId: process.env.R2_ACCOUNT_ID,
        accessKeyId: process.env.R2_ACCESS_KEY_ID,
        secretAccessKey: process.env.R2_SECRET_ACCESS_KEY,
        bucket: process.env.R2_BUCKET,
        archiveBucket: process.env.ARCHIVE_BUCKET,
      },
      cdnConfig: {
        apiUrl: process.env.CDN_API_URL,
        publicUrl: process.env.CDN_PUBLIC_URL,
      },
      callbackUrl: process.env.CALLBACK_URL,
    });
    console.log(`[Worker] Completed in ${Date.now() - startTime}ms`);
    process.exit(0);
  } catch (error) {
    console.error(`[Worker] Fatal error:`, error);
    await sendCallback(process.env.CALLBACK_URL, {
      task_id: process.env.TASK_ID,
      batch_id: process.env.BATCH_ID,
      status: 'error',
      error: error.message,
    });
    process.exit(1);
  }
}

main();

/**
 * An avatar from a picture the user picked: cropped to a centred square, scaled to 256×256
 * and encoded as JPEG in the browser (the original, with its metadata, never leaves).
 */
import { Limits } from '@securechat/sdk';

const SIZE = 256;

export async function avatarFrom(file: Blob): Promise<Uint8Array> {
  const bitmap = await createImageBitmap(file);
  const side = Math.min(bitmap.width, bitmap.height);
  const canvas = document.createElement('canvas');
  canvas.width = SIZE;
  canvas.height = SIZE;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('no canvas');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, SIZE, SIZE);
  context.drawImage(
    bitmap,
    (bitmap.width - side) / 2,
    (bitmap.height - side) / 2,
    side,
    side,
    0,
    0,
    SIZE,
    SIZE,
  );
  bitmap.close();
  for (const quality of [0.85, 0.7, 0.5]) {
    const blob = await new Promise<Blob | null>((resolve) =>
      canvas.toBlob(resolve, 'image/jpeg', quality),
    );
    if (blob && blob.size <= Limits.AVATAR_MAX_BYTES)
      return new Uint8Array(await blob.arrayBuffer());
  }
  throw new Error('too large');
}

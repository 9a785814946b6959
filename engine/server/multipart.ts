// Reads a multipart/form-data upload with busboy under explicit limits: one file part held in
// memory (at most maxFileBytes; 413 beyond), a few small text fields.

import busboy from 'busboy';
import type { Request } from 'express';
import { HttpError, badRequest } from './http-error.ts';

export interface UploadedFile {
  field: string;
  filename: string;
  data: Buffer;
}

export interface MultipartForm {
  fields: Record<string, string>;
  files: UploadedFile[];
}

export interface MultipartLimits {
  maxFileBytes: number;
  maxFiles: number;
}

const MAX_FIELDS = 20;
const MAX_FIELD_BYTES = 64 * 1024;

export function readMultipart(req: Request, limits: MultipartLimits): Promise<MultipartForm> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    return Promise.reject(badRequest(`Uploads must be multipart/form-data, got "${type || 'no content type'}".`));
  }
  return new Promise((resolve, reject) => {
    const form: MultipartForm = { fields: {}, files: [] };
    let failed: Error | undefined;
    const fail = (error: Error) => {
      failed ??= error;
      req.unpipe(parser);
      req.resume();
      reject(failed);
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES },
      });
    } catch (error) {
      reject(badRequest(`Unreadable multipart request: ${(error as Error).message}.`));
      return;
    }
    parser.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      // A body that ends inside a file part errors this stream: without a listener that error would
      // be thrown as unhandled and take the whole server down.
      stream.on('error', (error: Error) => fail(badRequest(`Unreadable multipart request: ${error.message}.`)));
      stream.on('limit', () => fail(new HttpError(413, `The uploaded file is larger than the limit of ${limits.maxFileBytes} bytes; send a smaller file or raise --max-upload-mb.`)));
      stream.on('end', () => {
        if (!failed) form.files.push({ field, filename: info.filename ?? '', data: Buffer.concat(chunks) });
      });
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(badRequest(`Form field "${name}" is longer than ${MAX_FIELD_BYTES} bytes.`));
      else form.fields[name] = value;
    });
    parser.on('filesLimit', () => fail(badRequest(`Send at most ${limits.maxFiles} file(s) per upload.`)));
    parser.on('fieldsLimit', () => fail(badRequest(`Send at most ${MAX_FIELDS} form fields per upload.`)));
    parser.on('error', (error: Error) => fail(badRequest(`Unreadable multipart request: ${error.message}.`)));
    parser.on('close', () => {
      if (!failed) resolve(form);
    });
    req.on('error', (error: Error) => fail(badRequest(`The upload was cut off: ${error.message}.`)));
    req.pipe(parser);
  });
}

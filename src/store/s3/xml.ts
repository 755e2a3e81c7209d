/**
 * The S3 XML documents hx reads and writes, parsed with fast-xml-parser: values stay
 * strings (keys like `00123` must not become numbers), whitespace is kept (keys may end in
 * spaces), and repeated elements are always arrays.
 *
 * @module
 */

// A full npm: specifier, not a bare one: hx is imported by path or URL from projects that do
// not have hx's deno.json, where a bare specifier would not resolve.
// deno-lint-ignore no-import-prefix
import { XMLParser } from "npm:fast-xml-parser@5.12.1";

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true, // numeric character references (&#x27;) that some servers send
  isArray: (name: string) => ["Contents", "Part", "Upload", "CommonPrefixes"].includes(name),
});

type Node = Record<string, unknown>;

function text(node: Node | undefined, field: string): string | undefined {
  const value = node?.[field];
  return typeof value === "string" ? value : undefined;
}

/** Parses XML into plain objects; `null` for a body that is not XML. */
export function parseXml(body: string): Node | null {
  if (!body.trimStart().startsWith("<")) return null;
  try {
    return parser.parse(body) as Node;
  } catch {
    return null;
  }
}

/** An S3 `<Error>` document. */
export interface S3ErrorBody {
  code: string;
  message: string;
}

/** The `<Error>` in a body, or `null` if there is none. */
export function parseErrorBody(body: string): S3ErrorBody | null {
  const error = parseXml(body)?.Error as Node | undefined;
  if (error === undefined || typeof error !== "object") return null;
  return { code: text(error, "Code") ?? "", message: (text(error, "Message") ?? "").trim() };
}

/** One object in a listing. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string | undefined;
  lastModified: Date | undefined;
}

/** One page of ListObjectsV2. */
export interface ListPage {
  objects: ListedObject[];
  nextToken: string | undefined;
}

/**
 * Decodes a key of a listing made with `encoding-type=url`: S3 encodes a space as `+`
 * and a literal `+` as `%2B`.
 */
export function decodeListedKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

/**
 * Parses a ListObjectsV2 page. Keys are decoded only when the response says it encoded
 * them (`<EncodingType>url</EncodingType>`): some servers ignore the request parameter.
 *
 * @throws {SyntaxError} When the body is not a ListBucketResult.
 */
export function parseListPage(body: string): ListPage {
  const root = parseXml(body)?.ListBucketResult as Node | undefined;
  if (root === undefined || typeof root !== "object") {
    throw new SyntaxError("Cannot read the listing: not a ListBucketResult");
  }
  const encoded = text(root, "EncodingType") === "url";
  const contents = (root.Contents as Node[] | undefined) ?? [];
  const objects = contents.map((c) => {
    const raw = text(c, "Key") ?? "";
    const modified = text(c, "LastModified");
    return {
      key: encoded ? decodeListedKey(raw) : raw,
      size: Number(text(c, "Size") ?? "0"),
      etag: text(c, "ETag"),
      lastModified: modified === undefined ? undefined : new Date(modified),
    };
  });
  const truncated = text(root, "IsTruncated") === "true";
  const token = text(root, "NextContinuationToken");
  if (truncated && !token) {
    throw new SyntaxError("Cannot read the listing: truncated without a continuation token");
  }
  return { objects, nextToken: truncated ? token : undefined };
}

/** The UploadId of an InitiateMultipartUploadResult. */
export function parseUploadId(body: string): string {
  const root = parseXml(body)?.InitiateMultipartUploadResult as Node | undefined;
  const id = text(root, "UploadId");
  if (!id) throw new SyntaxError("Cannot start the multipart upload: no UploadId in the answer");
  return id;
}

/** The ETag of a CompleteMultipartUploadResult, or `null` if the body is not one. */
export function parseCompleteResult(body: string): { etag: string | undefined } | null {
  const root = parseXml(body)?.CompleteMultipartUploadResult as Node | undefined;
  if (root === undefined || typeof root !== "object") return null;
  return { etag: text(root, "ETag") };
}

/** One unfinished multipart upload, as ListMultipartUploads lists it. */
export interface ListedUpload {
  key: string;
  uploadId: string;
  /** When it was started, if the server says. */
  initiated: Date | undefined;
}

/** One page of ListMultipartUploads. */
export interface UploadsPage {
  uploads: ListedUpload[];
  /** Markers of the next page, when truncated. */
  next: { keyMarker: string; uploadIdMarker: string } | undefined;
}

/**
 * Parses a ListMultipartUploadsResult page (keys decoded when the answer says it encoded
 * them).
 *
 * @throws {SyntaxError} When the body is not a ListMultipartUploadsResult.
 */
export function parseUploads(body: string): UploadsPage {
  const root = parseXml(body)?.ListMultipartUploadsResult as Node | undefined;
  if (root === undefined || typeof root !== "object") {
    throw new SyntaxError("Cannot read the upload listing: not a ListMultipartUploadsResult");
  }
  const encoded = text(root, "EncodingType") === "url";
  const uploads = ((root.Upload as Node[] | undefined) ?? []).map((u) => {
    const raw = text(u, "Key") ?? "";
    const initiated = text(u, "Initiated");
    return {
      key: encoded ? decodeListedKey(raw) : raw,
      uploadId: text(u, "UploadId") ?? "",
      initiated: initiated === undefined ? undefined : new Date(initiated),
    };
  });
  const truncated = text(root, "IsTruncated") === "true";
  const keyMarker = text(root, "NextKeyMarker");
  const uploadIdMarker = text(root, "NextUploadIdMarker");
  return {
    uploads,
    next: truncated && keyMarker
      ? {
        keyMarker: encoded ? decodeListedKey(keyMarker) : keyMarker,
        uploadIdMarker: uploadIdMarker ?? "",
      }
      : undefined,
  };
}

function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The body of CompleteMultipartUpload. */
export function completeBody(parts: readonly { partNumber: number; etag: string }[]): string {
  const items = parts.map((p) =>
    `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`
  );
  return `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${
    items.join("")
  }</CompleteMultipartUpload>`;
}

"""Multipart uploads: each upload's meta object in `default.rgw.buckets.non-ec` (its
`UploadInfo` as data, its parts in omap `part.NNNNN`), the bucket's in-progress
uploads in the omap of `.uploads.<marker>` (key NUL upload id), the parts' data
striped under a prefix unique to each part upload.

Completion and abort first claim the upload (an xattr set under a guard), so of two
concurrent completions, or a completion and an abort, exactly one proceeds. Part
data goes the way of object tails (`gc`): listed while it is written, and the parts
an abort, a completion or a re-upload of the part number leaves unused are listed
for the collector rather than removed one by one.
"""

from __future__ import annotations

import contextlib
import hashlib

from radospy.client.rados import AsyncIoctx, ObjectNotFound
from radospy.common import osdop as o
from radospy.rgw.s3.errors import S3Error
from radospy.rgw.store import names
from radospy.rgw.store.gc import GcLog
from radospy.rgw.store.manifest import ManifestPart, stripe_oids
from radospy.rgw.store.objects import STRIPE, StripeWriter, remove_objects
from radospy.rgw.store.rados_ops import Conflict, run
from radospy.rgw.store.records import BucketInfo, PartInfo, UploadInfo, decode, encode

MIN_PART_SIZE = 5 << 20
"""Smallest part but the last that CompleteMultipartUpload accepts (S3's 5 MiB)."""
CLAIM_XATTR = "rgw.claim"
_PART_KEY = "part."


def part_key(number: int) -> str:
    """The omap key of part `number` (sorts numerically)."""
    return f"{_PART_KEY}{number:05d}"


def upload_key(key: str, upload_id: str) -> str:
    """The key of an upload in the bucket's uploads list (sorts by key, then id)."""
    return f"{key}\x00{upload_id}"


def multipart_etag(part_etags: list[str]) -> str:
    """S3's ETag of a multipart object: MD5 of the parts' binary MD5s, `-N`."""
    digest = hashlib.md5(b"".join(bytes.fromhex(e) for e in part_etags)).hexdigest()
    return f"{digest}-{len(part_etags)}"


def no_such_upload(upload_id: str) -> S3Error:
    """NoSuchUpload for `upload_id`."""
    return S3Error(code="NoSuchUpload", UploadId=upload_id)


class Uploads:
    """Multipart uploads of buckets."""

    def __init__(self, non_ec: AsyncIoctx, data: AsyncIoctx, gc: GcLog | None = None) -> None:
        self.non_ec = non_ec
        self.data = data
        self.gc = gc

    async def _retire(self, parts: list[PartInfo]) -> None:
        """The stripes of parts no upload needs any more: to the gc list in one entry
        (removed at once without one), so a gateway killed while they are removed
        leaves nothing behind."""
        oids = [oid for p in parts for oid in stripe_oids(p.prefix, p.size, STRIPE)]
        if self.gc is None:
            await remove_objects(self.data, oids)
        else:
            await self.gc.defer(oids)

    async def create(self, info: BucketInfo, upload: UploadInfo) -> None:
        """Start `upload`."""
        meta = names.upload_meta_oid(info.marker, upload.key, upload.upload_id)
        await run(self.non_ec, meta, [o.Create(exclusive=True), o.WriteFull(data=encode(upload))],
                  "create upload")
        await run(self.non_ec, names.uploads_oid(info.marker),
                  [o.OmapSet(entries={upload_key(upload.key, upload.upload_id): encode(upload)})],
                  "create upload")

    async def get(self, info: BucketInfo, key: str, upload_id: str) -> UploadInfo:
        """The upload; NoSuchUpload when it does not exist (or is being completed)."""
        meta = names.upload_meta_oid(info.marker, key, upload_id)
        try:
            results = await run(self.non_ec, meta, [o.Read(), o.GetXattrs()], "read upload")
        except ObjectNotFound:
            raise no_such_upload(upload_id) from None
        data, xattrs = results[0], results[1]
        if isinstance(xattrs, o.XattrMap) and xattrs.xattrs.get(CLAIM_XATTR):
            raise no_such_upload(upload_id)
        assert isinstance(data, o.ReadData)
        return decode(data.data, UploadInfo)

    def part_writer(self, info: BucketInfo, key: str, upload_id: str, number: int) -> StripeWriter:
        """A writer for one part's data (every byte goes to stripes; no head), which
        lists its stripes in the gc list while it writes them."""
        prefix = names.part_prefix(info.marker, key, upload_id, number, names.new_tag())
        return StripeWriter(self.data, prefix, head_size=0, stripe_size=STRIPE, first=0,
                            gc=self.gc)

    async def add_part(self, info: BucketInfo, key: str, upload_id: str, part: PartInfo) -> None:
        """Record an uploaded part (replacing an earlier upload of its number)."""
        meta = names.upload_meta_oid(info.marker, key, upload_id)
        old = (await self.parts(info, key, upload_id)).get(part.number)
        ops: list[o.OsdOp] = [
            o.CmpXattr(name=CLAIM_XATTR, op=o.CmpOp.EQ, value=b""),
            o.OmapSet(entries={part_key(part.number): encode(part)}),
        ]
        try:
            await run(self.non_ec, meta, ops, "add part")
        except (Conflict, ObjectNotFound):
            await remove_objects(self.data, stripe_oids(part.prefix, part.size, STRIPE))
            raise no_such_upload(upload_id) from None
        if old is not None and old.prefix != part.prefix:
            await self._retire([old])

    async def parts(self, info: BucketInfo, key: str, upload_id: str) -> dict[int, PartInfo]:
        """The recorded parts by number."""
        meta = names.upload_meta_oid(info.marker, key, upload_id)
        found: dict[int, PartInfo] = {}
        after = ""
        while True:
            try:
                results = await run(self.non_ec, meta,
                                    [o.OmapGetVals(start_after=after, filter_prefix=_PART_KEY)],
                                    "list parts")
            except ObjectNotFound:
                raise no_such_upload(upload_id) from None
            vals = results[0]
            assert isinstance(vals, o.OmapVals)
            for name, value in sorted(vals.entries.items()):
                part = decode(value, PartInfo)
                found[part.number] = part
                after = name
            if not vals.more or not vals.entries:
                return found

    async def claim(self, info: BucketInfo, key: str, upload_id: str) -> UploadInfo:
        """Take the upload for completion or abort; NoSuchUpload if another has it."""
        upload = await self.get(info, key, upload_id)
        meta = names.upload_meta_oid(info.marker, key, upload_id)
        try:
            await run(self.non_ec, meta,
                      [o.CmpXattr(name=CLAIM_XATTR, op=o.CmpOp.EQ, value=b""),
                       o.SetXattr(name=CLAIM_XATTR, value=names.new_tag().encode())],
                      "claim upload")
        except (Conflict, ObjectNotFound):
            raise no_such_upload(upload_id) from None
        return upload

    async def unclaim(self, info: BucketInfo, key: str, upload_id: str) -> None:
        """Give a claimed upload back (a completion that was refused)."""
        meta = names.upload_meta_oid(info.marker, key, upload_id)
        await run(self.non_ec, meta, [o.SetXattr(name=CLAIM_XATTR, value=b"")], "unclaim")

    async def finish(self, info: BucketInfo, key: str, upload_id: str,
                     keep: set[str] | None = None) -> None:
        """Forget a claimed upload: its part data except the prefixes in `keep` (what
        a completed object now uses) to the gc list, then its meta object and its list
        entry removed."""
        parts = await self.parts(info, key, upload_id)
        await self._retire([p for p in parts.values() if keep is None or p.prefix not in keep])
        await remove_objects(self.non_ec, [names.upload_meta_oid(info.marker, key, upload_id)])
        with contextlib.suppress(ObjectNotFound):
            await run(self.non_ec, names.uploads_oid(info.marker),
                      [o.OmapRmKeys(keys=[upload_key(key, upload_id)])], "remove upload")

    async def list(self, info: BucketInfo) -> list[UploadInfo]:
        """Every in-progress upload of the bucket, by key and then upload id."""
        uploads: list[UploadInfo] = []
        after = ""
        while True:
            try:
                results = await run(self.non_ec, names.uploads_oid(info.marker),
                                    [o.OmapGetVals(start_after=after)], "list uploads")
            except ObjectNotFound:
                return uploads
            vals = results[0]
            assert isinstance(vals, o.OmapVals)
            for name, value in sorted(vals.entries.items()):
                uploads.append(decode(value, UploadInfo))
                after = name
            if not vals.more or not vals.entries:
                return uploads


def manifest_parts(parts: list[PartInfo]) -> list[ManifestPart]:
    """The manifest parts of the chosen parts, in order."""
    return [ManifestPart(p.prefix, p.size) for p in parts]


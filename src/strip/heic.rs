//! HEIC/HEIF and AVIF (ISOBMFF): the Exif item and XMP items (`mime` items of type
//! `application/rdf+xml`) are found through the `meta` box (`iinf` names the items, `iloc` says
//! where their bytes are) and overwritten in place, so every box size and every `iloc` offset
//! stays valid and the picture is untouched:
//! - an Exif item becomes an empty Exif block (offset 0, a big-endian TIFF header with one empty
//!   directory), padded with zeros;
//! - an XMP item becomes an empty `x:xmpmeta` element, padded with spaces.
//!
//! The file streams through: top-level boxes are copied as they arrive, except `meta`, which is
//! held (at most [`MAX_META`] bytes) until its item table is read. The metadata bytes normally
//! follow it (in `mdat`) or sit inside it (`idat`). When they do not (a `meta` after the data,
//! a `meta` too large to hold, items built from other items, or an image sequence with no
//! top-level `meta`), the rest passes through unchanged and the report says the details could
//! not be removed: nothing is claimed that was not done.
//!
//! Memory: one box header, or one `meta` box of at most [`MAX_META`] bytes.

use super::{Removed, StripError};

/// The largest `meta` box held to read its item table (phones write a few kilobytes).
pub const MAX_META: u64 = 1024 * 1024;

/// What the reporter is told when the layout defeats in-stream cleaning.
pub const NOT_CLEANED: &str = "hidden details in this HEIC photo (camera, time, GPS position) \
     could not be removed: to be safe, take a screenshot of the photo and attach that instead";

const EXIF: &str = "EXIF data (camera make and model, date and time taken, GPS position)";
const XMP: &str = "XMP data (editing history, author, location)";

/// `exif_tiff_header_offset` 0, then `MM`, 42, first directory at 8, no entries, no next one.
const EMPTY_EXIF: &[u8] = b"\0\0\0\0MM\0\x2a\0\0\0\x08\0\0\0\0\0\0";
const EMPTY_XMP: &[u8] = b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";

const MALFORMED: StripError = StripError::Malformed("HEIC");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Exif,
    Xmp,
}

impl ItemKind {
    /// The replacement for an item of `len` bytes: the template if it fits, else filler only.
    fn byte_at(self, logical: u64, len: u64) -> u8 {
        let (template, filler) = match self {
            ItemKind::Exif => (EMPTY_EXIF, 0),
            ItemKind::Xmp => (EMPTY_XMP, b' '),
        };
        if len >= template.len() as u64
            && let Ok(index) = usize::try_from(logical)
            && let Some(&byte) = template.get(index)
        {
            return byte;
        }
        filler
    }
}

/// One extent of a metadata item, at absolute file offsets `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Blank {
    start: u64,
    end: u64,
    /// Offset of `start` within the item's data.
    logical: u64,
    /// The item's total length (the sum of its extents), to decide whether the template fits.
    item_len: u64,
    kind: ItemKind,
}

enum State {
    /// A top-level box header: 8 bytes, or 16 with a 64-bit size.
    Header {
        buf: [u8; 16],
        have: usize,
    },
    Copy {
        remaining: u64,
    },
    /// Holding a `meta` box (its header included) until all of it has arrived.
    Meta {
        buf: Vec<u8>,
        remaining: u64,
    },
    /// A box that runs to the end of the file, or a layout we stopped following.
    ToEnd,
}

pub struct Heic {
    state: State,
    /// Input bytes consumed so far.
    position: u64,
    blanks: Vec<Blank>,
    removed: Removed,
    /// The file's metadata could not be reached in the stream.
    gave_up: bool,
    seen_meta: bool,
}

impl Heic {
    pub fn new() -> Heic {
        Heic {
            state: State::Header {
                buf: [0; 16],
                have: 0,
            },
            position: 0,
            blanks: Vec::new(),
            removed: Removed::default(),
            gave_up: false,
            seen_meta: false,
        }
    }

    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), StripError> {
        while !input.is_empty() {
            let before = input.len();
            input = self.step(input, out)?;
            self.position += (before - input.len()) as u64;
        }
        Ok(())
    }

    /// What was removed, and whether the metadata could not be reached (then nothing was).
    pub fn finish(self, out: &mut Vec<u8>) -> Result<(Removed, bool), StripError> {
        match self.state {
            State::Header { buf, have } if have > 0 => {
                // A few stray bytes at the end are not a box: keep them as they were.
                out.extend_from_slice(&buf[..have]);
            }
            State::Header { .. } | State::ToEnd => {}
            State::Copy { .. } | State::Meta { .. } => return Err(MALFORMED),
        }
        if self.gave_up {
            return Ok((Removed::default(), true));
        }
        // Every metadata byte named by `iloc` must have passed through (and been blanked).
        if self
            .blanks
            .iter()
            .any(|blank| blank.end != u64::MAX && blank.end > self.position)
        {
            return Err(MALFORMED);
        }
        Ok((self.removed, !self.seen_meta))
    }

    fn step<'a>(&mut self, input: &'a [u8], out: &mut Vec<u8>) -> Result<&'a [u8], StripError> {
        let consumed = match &mut self.state {
            State::Header { buf, have } => {
                let need = if *have >= 4 && buf[..4] == [0, 0, 0, 1] {
                    16
                } else {
                    8
                };
                let take = (need - *have).min(input.len());
                buf[*have..*have + take].copy_from_slice(&input[..take]);
                *have += take;
                if *have == 8 && buf[..4] == [0, 0, 0, 1] {
                    // A 64-bit size follows: keep reading the header.
                    return Ok(&input[take..]);
                }
                if *have == need {
                    let header = *buf;
                    let start = self.position + take as u64 - need as u64;
                    self.on_header(&header[..need], start, out)?;
                }
                take
            }
            State::Copy { remaining } => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                *remaining -= take as u64;
                let done = *remaining == 0;
                self.emit(&input[..take], out);
                if done {
                    self.next_box();
                }
                take
            }
            State::Meta { buf, remaining } => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                buf.extend_from_slice(&input[..take]);
                *remaining -= take as u64;
                if *remaining == 0 {
                    let held = std::mem::take(buf);
                    let start = self.position + take as u64 - held.len() as u64;
                    self.on_meta(held, start, out)?;
                    self.next_box();
                }
                take
            }
            State::ToEnd => {
                self.emit(input, out);
                input.len()
            }
        };
        Ok(&input[consumed..])
    }

    fn next_box(&mut self) {
        self.state = State::Header {
            buf: [0; 16],
            have: 0,
        };
    }

    /// Copies bytes at `self.position..` to `out`, overwriting metadata extents.
    fn emit(&self, bytes: &[u8], out: &mut Vec<u8>) {
        let from = out.len();
        out.extend_from_slice(bytes);
        blank_into(&self.blanks, self.position, &mut out[from..]);
    }

    fn on_header(
        &mut self,
        header: &[u8],
        start: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), StripError> {
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        if start == 0 && &kind != b"ftyp" {
            return Err(MALFORMED);
        }
        let size = match size32 {
            0 => None,
            1 => Some(u64::from_be_bytes([
                header[8], header[9], header[10], header[11], header[12], header[13], header[14],
                header[15],
            ])),
            n => Some(u64::from(n)),
        };
        let header_len = header.len() as u64;
        // Header bytes are never metadata, but go through `emit` like everything else.
        let held_position = start;
        match size {
            Some(size) if size < header_len => Err(MALFORMED),
            None => {
                self.emit_at(header, held_position, out);
                self.state = State::ToEnd;
                Ok(())
            }
            Some(size) if &kind == b"meta" && !self.gave_up => {
                if size > MAX_META {
                    self.give_up();
                    self.emit_at(header, held_position, out);
                    self.state = State::Copy {
                        remaining: size - header_len,
                    };
                    return Ok(());
                }
                let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                buf.extend_from_slice(header);
                if size == header_len {
                    self.on_meta(buf, start, out)?;
                    self.next_box();
                } else {
                    self.state = State::Meta {
                        buf,
                        remaining: size - header_len,
                    };
                }
                Ok(())
            }
            Some(size) => {
                self.emit_at(header, held_position, out);
                self.state = if size == header_len {
                    State::Header {
                        buf: [0; 16],
                        have: 0,
                    }
                } else {
                    State::Copy {
                        remaining: size - header_len,
                    }
                };
                Ok(())
            }
        }
    }

    fn emit_at(&self, bytes: &[u8], at: u64, out: &mut Vec<u8>) {
        let from = out.len();
        out.extend_from_slice(bytes);
        blank_into(&self.blanks, at, &mut out[from..]);
    }

    /// Stops cleaning: the rest passes through, and the report says nothing was removed.
    fn give_up(&mut self) {
        self.gave_up = true;
        self.blanks.clear();
        self.removed = Removed::default();
    }

    /// Reads the item table of a whole `meta` box starting at file offset `start`, blanks what
    /// lies inside it and remembers what lies ahead.
    fn on_meta(
        &mut self,
        mut held: Vec<u8>,
        start: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), StripError> {
        self.seen_meta = true;
        let items = parse_meta(&held)?;
        let mut ahead = Vec::new();
        let mut unreachable = false;
        for item in &items.metadata {
            let mut logical = 0u64;
            let item_len = item
                .extents
                .iter()
                .map(|e| e.length)
                .fold(0u64, u64::saturating_add);
            for extent in &item.extents {
                let (absolute, end) = match item.method {
                    Construction::File => {
                        let end = if extent.length == 0 {
                            u64::MAX
                        } else {
                            extent.offset.checked_add(extent.length).ok_or(MALFORMED)?
                        };
                        (extent.offset, end)
                    }
                    Construction::Idat => {
                        let (idat_start, idat_len) = items.idat.ok_or(MALFORMED)?;
                        let length = if extent.length == 0 {
                            idat_len.checked_sub(extent.offset).ok_or(MALFORMED)?
                        } else {
                            extent.length
                        };
                        let relative_end = extent.offset.checked_add(length).ok_or(MALFORMED)?;
                        if relative_end > idat_len {
                            return Err(MALFORMED);
                        }
                        let begin = start + idat_start + extent.offset;
                        (begin, begin + length)
                    }
                    Construction::Other => {
                        unreachable = true;
                        break;
                    }
                };
                ahead.push(Blank {
                    start: absolute,
                    end,
                    logical,
                    item_len,
                    kind: item.kind,
                });
                logical = logical.saturating_add(end.saturating_sub(absolute));
            }
        }
        let meta_end = start + held.len() as u64;
        // Bytes before this box have already gone out: they cannot be blanked any more.
        if unreachable || ahead.iter().any(|blank| blank.start < start) {
            self.give_up();
            self.emit_at(&held, start, out);
            return Ok(());
        }
        for item in &items.metadata {
            self.removed.add(match item.kind {
                ItemKind::Exif => EXIF,
                ItemKind::Xmp => XMP,
            });
        }
        self.blanks.extend(ahead);
        blank_into(&self.blanks, start, &mut held);
        self.blanks.retain(|blank| blank.end > meta_end);
        out.extend_from_slice(&held);
        Ok(())
    }
}

/// Overwrites the parts of `bytes` (which sit at file offset `at`) that `blanks` cover.
fn blank_into(blanks: &[Blank], at: u64, bytes: &mut [u8]) {
    let end = at + bytes.len() as u64;
    for blank in blanks {
        let from = blank.start.max(at);
        let to = blank.end.min(end);
        let mut offset = from;
        while offset < to {
            let logical = blank.logical + (offset - blank.start);
            if let Ok(index) = usize::try_from(offset - at)
                && let Some(byte) = bytes.get_mut(index)
            {
                *byte = blank.kind.byte_at(logical, blank.item_len);
            }
            offset += 1;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Construction {
    File,
    Idat,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Extent {
    offset: u64,
    length: u64,
}

#[derive(Debug)]
struct MetadataItem {
    kind: ItemKind,
    method: Construction,
    extents: Vec<Extent>,
}

struct MetaItems {
    metadata: Vec<MetadataItem>,
    /// Where `idat`'s data starts within the `meta` box, and its length.
    idat: Option<(u64, u64)>,
}

/// A bounds-checked reader over one box's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StripError> {
        let end = self.at.checked_add(n).ok_or(MALFORMED)?;
        let slice = self.bytes.get(self.at..end).ok_or(MALFORMED)?;
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, StripError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, StripError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, StripError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An unsigned integer of 0, 4 or 8 bytes (`iloc`'s field sizes).
    fn sized(&mut self, size: u8) -> Result<u64, StripError> {
        match size {
            0 => Ok(0),
            4 => Ok(u64::from(self.u32()?)),
            8 => {
                let b = self.take(8)?;
                Ok(u64::from_be_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            }
            _ => Err(MALFORMED),
        }
    }

    /// A NUL-terminated string (a missing terminator at the end of the box is tolerated).
    fn c_string(&mut self) -> Result<&'a [u8], StripError> {
        let rest = self.bytes.get(self.at..).ok_or(MALFORMED)?;
        match rest.iter().position(|&b| b == 0) {
            Some(nul) => {
                self.at += nul + 1;
                Ok(&rest[..nul])
            }
            None => {
                self.at = self.bytes.len();
                Ok(rest)
            }
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.at..).unwrap_or(&[])
    }

    fn is_empty(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

/// A child box: its type, its body, and where the body starts within the parent's bytes.
type Child<'a> = ([u8; 4], &'a [u8], usize);

/// Splits `bytes` into child boxes.
fn children(bytes: &[u8]) -> Result<Vec<Child<'_>>, StripError> {
    let mut out = Vec::new();
    let mut reader = Reader::new(bytes);
    while !reader.is_empty() {
        let box_start = reader.at;
        let size32 = reader.u32()?;
        let kind = reader.take(4)?;
        let kind = [kind[0], kind[1], kind[2], kind[3]];
        let size = match size32 {
            0 => (bytes.len() - box_start) as u64,
            1 => reader.sized(8)?,
            n => u64::from(n),
        };
        let header = reader.at - box_start;
        let size = usize::try_from(size).map_err(|_| MALFORMED)?;
        if size < header {
            return Err(MALFORMED);
        }
        let body = reader.take(size - header)?;
        out.push((kind, body, box_start + header));
    }
    Ok(out)
}

/// Reads `meta` (its whole box, header included) for the Exif and XMP items and `idat`.
fn parse_meta(meta: &[u8]) -> Result<MetaItems, StripError> {
    let mut reader = Reader::new(meta);
    let size32 = reader.u32()?;
    reader.take(4)?;
    if size32 == 1 {
        reader.take(8)?;
    }
    // FullBox: version and flags.
    reader.take(4)?;
    let body_start = reader.at;
    let mut types: Vec<(u32, ItemKind)> = Vec::new();
    let mut locations: Vec<(u32, Construction, Vec<Extent>)> = Vec::new();
    let mut idat = None;
    for (kind, body, offset) in children(reader.rest())? {
        match &kind {
            b"iinf" => types = parse_iinf(body)?,
            b"iloc" => locations = parse_iloc(body)?,
            b"idat" => idat = Some(((body_start + offset) as u64, body.len() as u64)),
            _ => {}
        }
    }
    let mut metadata = Vec::new();
    for (id, kind) in types {
        // An item without a location has no bytes in this file.
        if let Some((_, method, extents)) = locations.iter().find(|(item, _, _)| *item == id) {
            metadata.push(MetadataItem {
                kind,
                method: *method,
                extents: extents.clone(),
            });
        }
    }
    Ok(MetaItems { metadata, idat })
}

/// The item ids of Exif and XMP items.
fn parse_iinf(body: &[u8]) -> Result<Vec<(u32, ItemKind)>, StripError> {
    let mut reader = Reader::new(body);
    let version = reader.u8()?;
    reader.take(3)?;
    if version == 0 {
        reader.u16()?;
    } else {
        reader.u32()?;
    }
    let mut found = Vec::new();
    for (kind, entry, _) in children(reader.rest())? {
        if &kind != b"infe" {
            continue;
        }
        let mut infe = Reader::new(entry);
        let version = infe.u8()?;
        infe.take(3)?;
        let (id, item_type, content_type) = match version {
            0 | 1 => {
                let id = u32::from(infe.u16()?);
                infe.u16()?;
                infe.c_string()?;
                (id, *b"mime", infe.c_string()?)
            }
            _ => {
                let id = if version == 2 {
                    u32::from(infe.u16()?)
                } else {
                    infe.u32()?
                };
                infe.u16()?;
                let t = infe.take(4)?;
                let item_type = [t[0], t[1], t[2], t[3]];
                infe.c_string()?;
                let content_type = if &item_type == b"mime" {
                    infe.c_string()?
                } else {
                    &[][..]
                };
                (id, item_type, content_type)
            }
        };
        if &item_type == b"Exif" {
            found.push((id, ItemKind::Exif));
        } else if &item_type == b"mime" && content_type.eq_ignore_ascii_case(b"application/rdf+xml")
        {
            found.push((id, ItemKind::Xmp));
        }
    }
    Ok(found)
}

/// Every item's construction method and extents (absolute for method 0, within `idat` for 1).
fn parse_iloc(body: &[u8]) -> Result<Vec<(u32, Construction, Vec<Extent>)>, StripError> {
    let mut reader = Reader::new(body);
    let version = reader.u8()?;
    reader.take(3)?;
    if version > 2 {
        return Err(MALFORMED);
    }
    let sizes = reader.u8()?;
    let (offset_size, length_size) = (sizes >> 4, sizes & 0x0F);
    let sizes = reader.u8()?;
    let base_offset_size = sizes >> 4;
    let index_size = if version >= 1 { sizes & 0x0F } else { 0 };
    let count = if version < 2 {
        u32::from(reader.u16()?)
    } else {
        reader.u32()?
    };
    let mut items = Vec::new();
    for _ in 0..count {
        let id = if version < 2 {
            u32::from(reader.u16()?)
        } else {
            reader.u32()?
        };
        let method = if version >= 1 {
            match reader.u16()? & 0x0F {
                0 => Construction::File,
                1 => Construction::Idat,
                _ => Construction::Other,
            }
        } else {
            Construction::File
        };
        let data_reference = reader.u16()?;
        let base = reader.sized(base_offset_size)?;
        let extent_count = reader.u16()?;
        let mut extents = Vec::new();
        for _ in 0..extent_count {
            if index_size > 0 {
                reader.sized(index_size)?;
            }
            let offset = reader.sized(offset_size)?;
            let length = reader.sized(length_size)?;
            extents.push(Extent {
                offset: base.checked_add(offset).ok_or(MALFORMED)?,
                length,
            });
        }
        // Data in another file is not in this upload.
        if data_reference == 0 {
            items.push((id, method, extents));
        }
    }
    Ok(items)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::FileKind;
    use super::super::tests::strip_in_steps;
    use super::*;

    const FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/photo-with-gps.heic");

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn the_fixture_loses_exif_and_xmp_in_place() {
        assert!(contains(FIXTURE, b"Model-GPS-CANARY"));
        assert!(contains(FIXTURE, b"XMP-CREATOR-CANARY"));
        let (whole, _) = strip_in_steps(FIXTURE, FIXTURE.len()).unwrap();
        for step in [1, 7, 64, 4096] {
            let (out, report) = strip_in_steps(FIXTURE, step).unwrap();
            assert_eq!(out, whole, "step {step}");
            assert_eq!(report.kind, Some(FileKind::Heic));
            assert_eq!(report.removed, vec![EXIF.to_owned(), XMP.to_owned()]);
            assert!(!report.not_removed.iter().any(|n| n == NOT_CLEANED));
        }
        assert_eq!(whole.len(), FIXTURE.len(), "offsets stay valid");
        assert!(!contains(&whole, b"Model-GPS-CANARY"));
        assert!(!contains(&whole, b"HEIC-Make-CANARY"));
        assert!(!contains(&whole, b"XMP-CREATOR-CANARY"));
        assert!(contains(&whole, EMPTY_EXIF));
        assert!(contains(&whole, EMPTY_XMP));
        // Only metadata bytes changed: the boxes, the item table and the picture are as they were.
        let changed = whole.iter().zip(FIXTURE).filter(|(a, b)| a != b).count();
        let items = parse_meta(meta_box(FIXTURE)).unwrap();
        let metadata_bytes: u64 = items
            .metadata
            .iter()
            .flat_map(|item| item.extents.iter().map(|e| e.length))
            .sum();
        assert!(
            changed as u64 <= metadata_bytes,
            "{changed} > {metadata_bytes}"
        );
        assert_eq!(meta_box(&whole), meta_box(FIXTURE));
    }

    fn meta_box(file: &[u8]) -> &[u8] {
        let ftyp = u32::from_be_bytes([file[0], file[1], file[2], file[3]]) as usize;
        let size = u32::from_be_bytes([file[ftyp], file[ftyp + 1], file[ftyp + 2], file[ftyp + 3]])
            as usize;
        assert_eq!(&file[ftyp + 4..ftyp + 8], b"meta");
        &file[ftyp..ftyp + size]
    }

    fn plain_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((8 + body.len()) as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn full_box(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
        let mut inner = vec![version, 0, 0, 0];
        inner.extend_from_slice(body);
        plain_box(kind, &inner)
    }

    fn infe(id: u16, item_type: &[u8; 4], content_type: &str) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(item_type);
        body.push(0);
        if item_type == b"mime" {
            body.extend_from_slice(content_type.as_bytes());
            body.push(0);
        }
        full_box(b"infe", 2, &body)
    }

    /// `iloc` version 1 with 4-byte offsets and lengths: (id, method, [(offset, length)]).
    type Location<'a> = (u16, u16, &'a [(u32, u32)]);

    fn iloc(items: &[Location<'_>]) -> Vec<u8> {
        let mut body = vec![0x44, 0x00];
        body.extend_from_slice(&(items.len() as u16).to_be_bytes());
        for (id, method, extents) in items {
            body.extend_from_slice(&id.to_be_bytes());
            body.extend_from_slice(&method.to_be_bytes());
            body.extend_from_slice(&[0, 0]);
            body.extend_from_slice(&(extents.len() as u16).to_be_bytes());
            for (offset, length) in *extents {
                body.extend_from_slice(&offset.to_be_bytes());
                body.extend_from_slice(&length.to_be_bytes());
            }
        }
        full_box(b"iloc", 1, &body)
    }

    fn iinf(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut body = (entries.len() as u16).to_be_bytes().to_vec();
        for entry in entries {
            body.extend_from_slice(entry);
        }
        full_box(b"iinf", 0, &body)
    }

    fn ftyp() -> Vec<u8> {
        plain_box(b"ftyp", b"heic\0\0\0\0mif1heic")
    }

    const SECRET: &[u8] = b"Exif\0\0MM\0\x2a GPS 55.95N 3.19W SECRET-PLACE";

    /// ftyp, meta (Exif in `idat`, a two-extent XMP item in `mdat`), mdat.
    fn synthetic() -> Vec<u8> {
        let mut idat_body = vec![0, 0, 0, 6];
        idat_body.extend_from_slice(SECRET);
        let xmp = b"<x:xmpmeta><rdf:RDF>AUTHOR-SECRET and more words here</rdf:RDF></x:xmpmeta>";
        let picture = b"PICTURE-DATA-THAT-MUST-STAY";
        // The meta box size does not depend on offsets (fixed-width fields): build it twice.
        let build = |mdat_data: u32| {
            let split = 30u32;
            let meta_body = [
                full_box(b"hdlr", 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0"),
                iinf(&[
                    infe(1, b"hvc1", ""),
                    infe(2, b"Exif", ""),
                    infe(3, b"mime", "application/rdf+xml"),
                ]),
                iloc(&[
                    (
                        1,
                        0,
                        &[(mdat_data + xmp.len() as u32, picture.len() as u32)],
                    ),
                    (2, 1, &[(0, idat_body.len() as u32)]),
                    (
                        3,
                        0,
                        &[
                            (mdat_data, split),
                            (mdat_data + split, xmp.len() as u32 - split),
                        ],
                    ),
                ]),
                plain_box(b"idat", &idat_body),
            ]
            .concat();
            let meta = full_box(b"meta", 0, &meta_body);
            let mut mdat_body = xmp.to_vec();
            mdat_body.extend_from_slice(picture);
            [ftyp(), meta, plain_box(b"mdat", &mdat_body)].concat()
        };
        let first = build(0);
        let mdat_data = (first.len() - xmp.len() - picture.len()) as u32;
        build(mdat_data)
    }

    #[test]
    fn idat_and_split_extents_are_blanked() {
        let file = synthetic();
        assert!(contains(&file, b"SECRET-PLACE") && contains(&file, b"AUTHOR-SECRET"));
        for step in [1, 5, 1000] {
            let (out, report) = strip_in_steps(&file, step).unwrap();
            assert_eq!(out.len(), file.len());
            assert!(!contains(&out, b"SECRET-PLACE"), "step {step}");
            assert!(!contains(&out, b"AUTHOR-SECRET"), "step {step}");
            assert!(!contains(&out, b"more words"), "second extent, step {step}");
            assert!(contains(&out, b"PICTURE-DATA-THAT-MUST-STAY"));
            assert!(contains(&out, EMPTY_EXIF));
            assert!(contains(&out, EMPTY_XMP));
            assert_eq!(report.removed.len(), 2, "{report:?}");
        }
    }

    #[test]
    fn metadata_before_its_meta_box_is_reported_not_removed() {
        // mdat first: the Exif bytes have gone by when `meta` says where they were.
        let exif = b"\0\0\0\0MM\0\x2a LOCATION-CANARY";
        let mdat = plain_box(b"mdat", exif);
        let offset = (ftyp().len() + 8) as u32;
        let meta = full_box(
            b"meta",
            0,
            &[
                iinf(&[infe(1, b"Exif", "")]),
                iloc(&[(1, 0, &[(offset, exif.len() as u32)])]),
            ]
            .concat(),
        );
        let file = [ftyp(), mdat, meta].concat();
        let (out, report) = strip_in_steps(&file, 3).unwrap();
        assert_eq!(out, file, "passed through unchanged");
        assert!(report.removed.is_empty());
        assert_eq!(report.not_removed[0], NOT_CLEANED);
    }

    #[test]
    fn a_file_with_no_item_table_is_reported_not_removed() {
        // An image sequence keeps its pictures and metadata in tracks, not top-level items.
        let file = [
            ftyp(),
            plain_box(b"moov", b"track data"),
            plain_box(b"mdat", b"x"),
        ]
        .concat();
        let (out, report) = strip_in_steps(&file, 4).unwrap();
        assert_eq!(out, file);
        assert_eq!(report.not_removed[0], NOT_CLEANED);
    }

    #[test]
    fn broken_structures_are_refused() {
        let file = synthetic();
        // Cut short inside mdat: the XMP item's bytes never all arrived.
        let cut = &file[..file.len() - 40];
        assert_eq!(strip_in_steps(cut, 16).unwrap_err(), MALFORMED);
        // A box smaller than its own header.
        let mut bad = ftyp();
        bad.extend_from_slice(&[0, 0, 0, 4]);
        bad.extend_from_slice(b"meta");
        assert_eq!(strip_in_steps(&bad, 5).unwrap_err(), MALFORMED);
        // An iloc pointing into idat beyond its end.
        let meta = full_box(
            b"meta",
            0,
            &[
                iinf(&[infe(1, b"Exif", "")]),
                iloc(&[(1, 1, &[(0, 100)])]),
                plain_box(b"idat", b"short"),
            ]
            .concat(),
        );
        let file = [ftyp(), meta].concat();
        assert_eq!(strip_in_steps(&file, 9).unwrap_err(), MALFORMED);
        // Must start with ftyp.
        let mut out = Vec::new();
        assert_eq!(
            Heic::new().push(&full_box(b"meta", 0, b""), &mut out),
            Err(MALFORMED)
        );
    }

    #[test]
    fn large_boxes_and_to_end_boxes_stream() {
        // A 64-bit size on mdat, then a final box with size 0 (to the end of the file).
        let mut file = ftyp();
        let body = b"0123456789";
        file.extend_from_slice(&[0, 0, 0, 1]);
        file.extend_from_slice(b"mdat");
        file.extend_from_slice(&(16 + body.len() as u64).to_be_bytes());
        file.extend_from_slice(body);
        file.extend_from_slice(&[0, 0, 0, 0]);
        file.extend_from_slice(b"free");
        file.extend_from_slice(b"anything at all");
        let (out, _) = strip_in_steps(&file, 2).unwrap();
        assert_eq!(out, file);
    }

    #[test]
    fn an_oversized_meta_is_passed_through_and_reported() {
        let filler = vec![0u8; MAX_META as usize];
        let meta = full_box(b"meta", 0, &plain_box(b"free", &filler));
        let file = [ftyp(), meta].concat();
        let (out, report) = strip_in_steps(&file, 65536).unwrap();
        assert_eq!(out, file);
        assert_eq!(report.not_removed[0], NOT_CLEANED);
    }
}

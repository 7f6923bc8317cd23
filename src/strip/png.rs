//! PNG: copies every chunk except the ones that carry text or time — `tEXt`, `zTXt`, `iTXt`
//! (author, software, comments, often XMP), `eXIf` (camera, time, GPS) and `tIME` — and drops
//! anything after `IEND`. Removing whole chunks keeps every other chunk's CRC valid.
//!
//! Memory: one 8-byte chunk header; bodies are copied or skipped as they stream by.

use super::{Removed, StripError};

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

enum State {
    Signature { have: usize },
    Header { buf: [u8; 8], have: usize },
    Copy { remaining: u64, then_end: bool },
    Skip { remaining: u64 },
    Trailer,
}

pub struct Png {
    state: State,
    removed: Removed,
}

impl Png {
    pub fn new() -> Png {
        Png {
            state: State::Signature { have: 0 },
            removed: Removed::default(),
        }
    }

    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), StripError> {
        while !input.is_empty() {
            input = self.step(input, out)?;
        }
        Ok(())
    }

    pub fn finish(self) -> Removed {
        self.removed
    }

    fn step<'a>(&mut self, input: &'a [u8], out: &mut Vec<u8>) -> Result<&'a [u8], StripError> {
        match &mut self.state {
            State::Signature { have } => {
                let take = (SIGNATURE.len() - *have).min(input.len());
                if input[..take] != SIGNATURE[*have..*have + take] {
                    return Err(StripError::Malformed("PNG"));
                }
                out.extend_from_slice(&input[..take]);
                *have += take;
                if *have == SIGNATURE.len() {
                    self.state = State::Header {
                        buf: [0; 8],
                        have: 0,
                    };
                }
                Ok(&input[take..])
            }
            State::Header { buf, have } => {
                let take = (8 - *have).min(input.len());
                buf[*have..*have + take].copy_from_slice(&input[..take]);
                *have += take;
                if *have == 8 {
                    let header = *buf;
                    self.on_header(header, out)?;
                }
                Ok(&input[take..])
            }
            State::Copy {
                remaining,
                then_end,
            } => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                out.extend_from_slice(&input[..take]);
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.state = if *then_end {
                        State::Trailer
                    } else {
                        State::Header {
                            buf: [0; 8],
                            have: 0,
                        }
                    };
                }
                Ok(&input[take..])
            }
            State::Skip { remaining } => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.state = State::Header {
                        buf: [0; 8],
                        have: 0,
                    };
                }
                Ok(&input[take..])
            }
            State::Trailer => {
                self.removed.add("data after the end of the image");
                Ok(&[])
            }
        }
    }

    fn on_header(&mut self, header: [u8; 8], out: &mut Vec<u8>) -> Result<(), StripError> {
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if length > 0x7FFF_FFFF {
            return Err(StripError::Malformed("PNG"));
        }
        let kind = &header[4..8];
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(StripError::Malformed("PNG"));
        }
        // Body plus its 4-byte CRC.
        let remaining = u64::from(length) + 4;
        let what = match kind {
            b"tEXt" | b"zTXt" | b"iTXt" => {
                Some("text notes (author, software, comments, XMP data)")
            }
            b"eXIf" => Some("EXIF data (camera make and model, date and time taken, GPS position)"),
            b"tIME" => Some("time the image was last changed"),
            _ => None,
        };
        match what {
            Some(what) => {
                self.removed.add(what);
                self.state = State::Skip { remaining };
            }
            None => {
                out.extend_from_slice(&header);
                self.state = State::Copy {
                    remaining,
                    then_end: kind == b"IEND",
                };
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use crate::strip::tests::strip_in_steps;

    pub fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        // The CRC is not checked by the stripper; a fixed value keeps the test readable.
        out.extend_from_slice(b"CRC!");
        out
    }

    pub fn png_with_metadata() -> (Vec<u8>, Vec<u8>) {
        let ihdr = chunk(b"IHDR", b"\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0");
        let text = chunk(b"tEXt", b"Author\0Jane Doe");
        let itxt = chunk(
            b"iTXt",
            b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>GPS</x:xmpmeta>",
        );
        let exif = chunk(b"eXIf", b"MM\0*GPSLatitude 55.95");
        let time = chunk(b"tIME", b"\x07\xEA\x0B\x10\x0A\0\0");
        let idat = chunk(b"IDAT", &[0x78, 0x9C, 0x63, 0x60, 0, 0, 0, 4, 0, 1]);
        let iend = chunk(b"IEND", b"");
        let input = [
            b"\x89PNG\r\n\x1a\n".as_slice(),
            &ihdr,
            &text,
            &exif,
            &idat,
            &itxt,
            &time,
            &iend,
            b"trailing Jane Doe",
        ]
        .concat();
        let expected = [b"\x89PNG\r\n\x1a\n".as_slice(), &ihdr, &idat, &iend].concat();
        (input, expected)
    }

    #[test]
    fn text_exif_and_time_chunks_go() {
        let (input, expected) = png_with_metadata();
        for step in [1, 5, 8, 13, input.len()] {
            let (out, report) = strip_in_steps(&input, step).unwrap();
            assert_eq!(out, expected, "step {step}");
            assert_eq!(report.removed.len(), 4, "{:?}", report.removed);
        }
        let (out, report) = strip_in_steps(&expected, 3).unwrap();
        assert_eq!(out, expected);
        assert!(report.removed.is_empty());
    }

    #[test]
    fn broken_chunks_are_refused() {
        let mut input = b"\x89PNG\r\n\x1a\n".to_vec();
        input.extend_from_slice(b"\xFF\xFF\xFF\xFFtEXt");
        assert!(strip_in_steps(&input, 4).is_err());
        let mut input = b"\x89PNG\r\n\x1a\n".to_vec();
        input.extend_from_slice(b"\0\0\0\x01\0\0\0\0x");
        assert!(strip_in_steps(&input, 4).is_err());
    }
}

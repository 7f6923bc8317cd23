//! WebP (RIFF): the `EXIF` and `XMP ` chunks are overwritten with zeros and renamed `JUNK`
//! (RIFF's padding chunk, which every reader skips), and the EXIF/XMP flags in `VP8X` are
//! cleared. Overwriting instead of removing keeps the RIFF size in the header true without
//! holding the file back until its end. Anything past the RIFF size is dropped.
//!
//! Memory: one 12-byte header at a time.

use super::{Removed, StripError};

/// `VP8X` flag bits for "has EXIF" and "has XMP".
const EXIF_AND_XMP_FLAGS: u8 = 0x08 | 0x04;

enum State {
    Riff {
        buf: [u8; 12],
        have: usize,
    },
    Header {
        buf: [u8; 8],
        have: usize,
    },
    /// The first byte of `VP8X`'s body holds the flags.
    Flags {
        rest: u64,
    },
    Copy {
        remaining: u64,
    },
    Zero {
        remaining: u64,
    },
    Trailer,
}

pub struct Webp {
    state: State,
    /// Input bytes consumed so far, and where the RIFF data ends.
    position: u64,
    end: u64,
    removed: Removed,
}

impl Webp {
    pub fn new() -> Webp {
        Webp {
            state: State::Riff {
                buf: [0; 12],
                have: 0,
            },
            position: 0,
            end: u64::MAX,
            removed: Removed::default(),
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

    pub fn finish(self) -> Removed {
        self.removed
    }

    fn step<'a>(&mut self, input: &'a [u8], out: &mut Vec<u8>) -> Result<&'a [u8], StripError> {
        let consumed = match &mut self.state {
            State::Riff { buf, have } => {
                let take = (12 - *have).min(input.len());
                buf[*have..*have + take].copy_from_slice(&input[..take]);
                *have += take;
                if *have == 12 {
                    let header = *buf;
                    if &header[..4] != b"RIFF" || &header[8..12] != b"WEBP" {
                        return Err(StripError::Malformed("WebP"));
                    }
                    let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
                    self.end = 8 + u64::from(size);
                    out.extend_from_slice(&header);
                    self.state = State::Header {
                        buf: [0; 8],
                        have: 0,
                    };
                }
                take
            }
            State::Header { buf, have } => {
                let take = (8 - *have).min(input.len());
                buf[*have..*have + take].copy_from_slice(&input[..take]);
                *have += take;
                if *have == 8 {
                    let header = *buf;
                    self.on_header(header, out);
                }
                take
            }
            State::Flags { rest } => {
                out.push(input[0] & !EXIF_AND_XMP_FLAGS);
                let rest = *rest;
                self.state = if rest == 0 {
                    State::Header {
                        buf: [0; 8],
                        have: 0,
                    }
                } else {
                    State::Copy { remaining: rest }
                };
                1
            }
            State::Copy { remaining } => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                out.extend_from_slice(&input[..take]);
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.state = State::Header {
                        buf: [0; 8],
                        have: 0,
                    };
                }
                take
            }
            State::Zero { remaining } => {
                let take = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                out.resize(out.len() + take, 0);
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.state = State::Header {
                        buf: [0; 8],
                        have: 0,
                    };
                }
                take
            }
            State::Trailer => {
                self.removed.add("data after the end of the image");
                input.len()
            }
        };
        // A chunk header can only start inside the RIFF data.
        if matches!(self.state, State::Header { have: 0, .. })
            && self.position + consumed as u64 >= self.end
        {
            self.state = State::Trailer;
        }
        Ok(&input[consumed..])
    }

    fn on_header(&mut self, header: [u8; 8], out: &mut Vec<u8>) {
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        // Chunks are padded to an even length.
        let padded = u64::from(size) + u64::from(size & 1);
        let kind = &header[..4];
        if kind == b"EXIF" || kind == b"XMP " {
            self.removed.add(if kind == b"EXIF" {
                "EXIF data (camera make and model, date and time taken, GPS position)"
            } else {
                "XMP data (editing history, author, location)"
            });
            out.extend_from_slice(b"JUNK");
            out.extend_from_slice(&header[4..8]);
            self.state = if padded == 0 {
                State::Header {
                    buf: [0; 8],
                    have: 0,
                }
            } else {
                State::Zero { remaining: padded }
            };
            return;
        }
        out.extend_from_slice(&header);
        self.state = if padded == 0 {
            State::Header {
                buf: [0; 8],
                have: 0,
            }
        } else if kind == b"VP8X" {
            State::Flags { rest: padded - 1 }
        } else {
            State::Copy { remaining: padded }
        };
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::strip::tests::strip_in_steps;

    fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = kind.to_vec();
        out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        out.extend_from_slice(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn exif_and_xmp_are_blanked_and_flags_cleared() {
        let vp8x = chunk(b"VP8X", &[0x0C | 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let vp8l = chunk(b"VP8L", b"\x2f\0\0\0\0image");
        let exif = chunk(b"EXIF", b"MM\0*GPSLatitude 55.95 Jane's phone");
        let xmp = chunk(b"XMP ", b"<x:xmpmeta>Jane Doe</x:xmpmeta>");
        let mut input = riff(&[vp8x, vp8l.clone(), exif.clone(), xmp.clone()]);
        input.extend_from_slice(b"trailing Jane Doe");
        for step in [1, 3, 8, 12, 100] {
            let (out, report) = strip_in_steps(&input, step).unwrap();
            assert_eq!(
                out.len(),
                input.len() - b"trailing Jane Doe".len(),
                "step {step}"
            );
            assert_eq!(&out[..12], &input[..12], "RIFF header unchanged");
            assert_eq!(out[20], 0x10, "only the alpha flag is left");
            assert!(!out.windows(3).any(|w| w == b"GPS"));
            assert!(!out.windows(4).any(|w| w == b"Jane"));
            assert!(!out.windows(4).any(|w| w == b"EXIF"));
            assert!(out.windows(vp8l.len()).any(|w| w == vp8l.as_slice()));
            assert_eq!(out.windows(4).filter(|w| *w == b"JUNK").count(), 2);
            assert_eq!(report.removed.len(), 3, "{:?}", report.removed);
        }
    }

    #[test]
    fn a_simple_webp_is_unchanged() {
        let input = riff(&[chunk(b"VP8 ", b"\x10\x02\0\x9d\x01\x2a odd")]);
        let (out, report) = strip_in_steps(&input, 2).unwrap();
        assert_eq!(out, input);
        assert!(report.removed.is_empty());
    }
}

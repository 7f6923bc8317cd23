//! JPEG: walks the marker segments as they stream by, keeping what is needed to show the
//! image (frame, tables, scans, JFIF header, colour profile, Adobe colour transform) and
//! dropping every other APPn segment and comment — EXIF (camera, time, GPS, thumbnail), XMP,
//! IPTC/Photoshop, maker data, multi-picture indexes. Anything after the end-of-image marker
//! (phones append depth maps and extra images there, each with its own EXIF) is dropped too.
//!
//! Memory: a segment header and at most 16 identifier bytes; segment bodies are copied or
//! skipped without being held.

use super::{Removed, StripError};

const IDENT_LEN: usize = 16;

enum State {
    /// Expecting `FF xx`.
    Marker {
        first: Option<u8>,
    },
    /// After `FF marker`, the 2-byte segment length.
    Length {
        marker: u8,
        buf: [u8; 2],
        have: usize,
    },
    /// The start of an APPn/COM body, to tell which kind it is.
    Ident {
        marker: u8,
        length: u16,
        ident: Vec<u8>,
        want: usize,
    },
    Copy {
        remaining: usize,
        then_scan: bool,
    },
    Skip {
        remaining: usize,
    },
    /// Entropy-coded data after SOS; `saw_ff` when the last byte was an unpaired 0xFF.
    Scan {
        saw_ff: bool,
    },
    /// After EOI: everything is dropped.
    Trailer,
}

pub struct Jpeg {
    state: State,
    removed: Removed,
}

impl Jpeg {
    pub fn new() -> Jpeg {
        Jpeg {
            state: State::Marker { first: None },
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
            State::Marker { first } => {
                let byte = input[0];
                match first {
                    None => {
                        if byte != 0xFF {
                            return Err(StripError::Malformed("JPEG"));
                        }
                        *first = Some(byte);
                    }
                    Some(_) => self.on_marker(byte, out),
                }
                Ok(&input[1..])
            }
            State::Length { marker, buf, have } => {
                buf[*have] = input[0];
                *have += 1;
                if *have == 2 {
                    let marker = *marker;
                    let length = u16::from_be_bytes(*buf);
                    if length < 2 {
                        return Err(StripError::Malformed("JPEG"));
                    }
                    self.on_length(marker, length, out);
                }
                Ok(&input[1..])
            }
            State::Ident {
                marker,
                length,
                ident,
                want,
            } => {
                let take = (*want - ident.len()).min(input.len());
                ident.extend_from_slice(&input[..take]);
                if ident.len() == *want {
                    let (marker, length) = (*marker, *length);
                    let ident = std::mem::take(ident);
                    self.on_ident(marker, length, &ident, out);
                }
                Ok(&input[take..])
            }
            State::Copy {
                remaining,
                then_scan,
            } => {
                let take = (*remaining).min(input.len());
                out.extend_from_slice(&input[..take]);
                *remaining -= take;
                if *remaining == 0 {
                    self.state = if *then_scan {
                        State::Scan { saw_ff: false }
                    } else {
                        State::Marker { first: None }
                    };
                }
                Ok(&input[take..])
            }
            State::Skip { remaining } => {
                let take = (*remaining).min(input.len());
                *remaining -= take;
                if *remaining == 0 {
                    self.state = State::Marker { first: None };
                }
                Ok(&input[take..])
            }
            State::Scan { saw_ff } => {
                if *saw_ff {
                    let byte = input[0];
                    match byte {
                        // Stuffed zero, restart markers: still image data.
                        0x00 | 0xD0..=0xD7 => {
                            out.extend_from_slice(&[0xFF, byte]);
                            *saw_ff = false;
                        }
                        // Fill byte before a marker.
                        0xFF => {}
                        _ => self.on_marker(byte, out),
                    }
                    return Ok(&input[1..]);
                }
                let run = input.iter().position(|&b| b == 0xFF).unwrap_or(input.len());
                out.extend_from_slice(&input[..run]);
                if run < input.len() {
                    *saw_ff = true;
                    return Ok(&input[run + 1..]);
                }
                Ok(&input[run..])
            }
            State::Trailer => {
                self.removed
                    .add("data after the end of the image (such as extra embedded pictures)");
                Ok(&[])
            }
        }
    }

    fn on_marker(&mut self, marker: u8, out: &mut Vec<u8>) {
        self.state = match marker {
            // Fill bytes: keep waiting for the marker.
            0xFF => State::Marker { first: Some(0xFF) },
            // Start of image, restart markers, TEM: no length.
            0xD8 | 0xD0..=0xD7 | 0x01 => {
                out.extend_from_slice(&[0xFF, marker]);
                State::Marker { first: None }
            }
            0xD9 => {
                out.extend_from_slice(&[0xFF, marker]);
                State::Trailer
            }
            _ => State::Length {
                marker,
                buf: [0; 2],
                have: 0,
            },
        };
    }

    fn on_length(&mut self, marker: u8, length: u16, out: &mut Vec<u8>) {
        let body = usize::from(length) - 2;
        if is_app_or_comment(marker) && body > 0 {
            self.state = State::Ident {
                marker,
                length,
                ident: Vec::with_capacity(IDENT_LEN),
                want: body.min(IDENT_LEN),
            };
            return;
        }
        if is_app_or_comment(marker) {
            // An empty APPn/COM carries nothing; drop it quietly.
            self.state = State::Marker { first: None };
            return;
        }
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&length.to_be_bytes());
        let then_scan = marker == 0xDA;
        self.state = if body == 0 {
            if then_scan {
                State::Scan { saw_ff: false }
            } else {
                State::Marker { first: None }
            }
        } else {
            State::Copy {
                remaining: body,
                then_scan,
            }
        };
    }

    fn on_ident(&mut self, marker: u8, length: u16, ident: &[u8], out: &mut Vec<u8>) {
        let rest = usize::from(length) - 2 - ident.len();
        match classify(marker, ident) {
            None => {
                out.extend_from_slice(&[0xFF, marker]);
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(ident);
                self.state = if rest == 0 {
                    State::Marker { first: None }
                } else {
                    State::Copy {
                        remaining: rest,
                        then_scan: false,
                    }
                };
            }
            Some(what) => {
                self.removed.add(what);
                self.state = if rest == 0 {
                    State::Marker { first: None }
                } else {
                    State::Skip { remaining: rest }
                };
            }
        }
    }
}

fn is_app_or_comment(marker: u8) -> bool {
    (0xE0..=0xEF).contains(&marker) || marker == 0xFE
}

/// `None` to keep the segment, or what it is in plain words.
fn classify(marker: u8, ident: &[u8]) -> Option<&'static str> {
    match marker {
        0xE0 if ident.starts_with(b"JFIF\0") => None,
        0xE2 if ident.starts_with(b"ICC_PROFILE\0") => None,
        0xEE if ident.starts_with(b"Adobe") => None,
        0xE1 if ident.starts_with(b"Exif\0") => {
            Some("EXIF data (camera make and model, date and time taken, GPS position, thumbnail)")
        }
        0xE1 if ident.starts_with(b"http://ns.adobe") => {
            Some("XMP data (editing history, author, location)")
        }
        0xE2 if ident.starts_with(b"MPF\0") => Some("index of extra embedded pictures"),
        0xED => Some("IPTC/Photoshop data (caption, author, location)"),
        0xFE => Some("comments"),
        _ => Some("other camera or software data"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::strip::tests::strip_in_steps;

    /// A segment: FF marker, length, body.
    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn exif_with_gps() -> Vec<u8> {
        let mut body = b"Exif\0\0MM\0*".to_vec();
        body.extend_from_slice(b"GPSLatitude 55.9533 N GPSLongitude 3.1883 W Canon EOS");
        segment(0xE1, &body)
    }

    /// A small but structurally complete JPEG with metadata in all the usual places.
    pub fn jpeg_with_metadata() -> (Vec<u8>, Vec<u8>) {
        let jfif = segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        let icc = segment(0xE2, b"ICC_PROFILE\0\x01\x01profile-bytes");
        let xmp = segment(
            0xE1,
            b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Jane Doe</x:xmpmeta>",
        );
        let iptc = segment(0xED, b"Photoshop 3.0\0By-line: Jane Doe");
        let comment = segment(0xFE, b"taken at 14 Ward Road");
        let dqt = segment(0xDB, &[0u8; 65]);
        let sof = segment(0xC0, b"\x08\0\x10\0\x10\x01\x01\x11\0");
        let dht = segment(0xC4, &[0u8; 20]);
        let sos = segment(0xDA, b"\x01\x01\0\0\x3F\0");
        // Entropy data with a stuffed FF00, a restart marker and a fill byte run.
        let scan = b"\x12\x34\xFF\x00\x56\xFF\xD0\x78".to_vec();
        let second_sos = segment(0xDA, b"\x01\x01\0\0\x3F\0");
        let eoi = vec![0xFF, 0xD9];
        let trailer = [b"\xFF\xD8".as_slice(), &exif_with_gps(), b"\xFF\xD9"].concat();

        let mut input = vec![0xFF, 0xD8];
        for part in [
            &jfif,
            &exif_with_gps(),
            &icc,
            &xmp,
            &iptc,
            &comment,
            &dqt,
            &sof,
            &dht,
            &sos,
            &scan,
            &dht,
            &second_sos,
            &scan,
            &eoi,
            &trailer,
        ] {
            input.extend_from_slice(part);
        }
        let mut expected = vec![0xFF, 0xD8];
        for part in [
            &jfif,
            &icc,
            &dqt,
            &sof,
            &dht,
            &sos,
            &scan,
            &dht,
            &second_sos,
            &scan,
            &eoi,
        ] {
            expected.extend_from_slice(part);
        }
        (input, expected)
    }

    #[test]
    fn metadata_segments_and_trailer_go_image_data_stays() {
        let (input, expected) = jpeg_with_metadata();
        for step in [1, 2, 3, 7, 64, input.len()] {
            let (out, report) = strip_in_steps(&input, step).unwrap();
            assert_eq!(out, expected, "step {step}");
            let removed = report.removed.join("; ");
            for word in ["EXIF", "XMP", "IPTC", "comments", "after the end"] {
                assert!(removed.contains(word), "{word} in {removed}");
            }
            assert!(!out.windows(11).any(|w| w == b"GPSLatitude"));
            assert!(!out.windows(8).any(|w| w == b"Jane Doe"));
        }
    }

    /// A real camera-style JPEG (made with Pillow) with make, model and a GPS IFD: the output
    /// is exactly the input without its APP1 segment (bytes 20..216), which decodes.
    #[test]
    fn a_real_jpeg_loses_exactly_its_exif_segment() {
        let input = include_bytes!("../../tests/fixtures/photo-with-gps.jpg");
        let expected = [&input[..20], &input[216..]].concat();
        for step in [1, 100, input.len()] {
            let (out, report) = strip_in_steps(input, step).unwrap();
            assert_eq!(out, expected);
            assert_eq!(report.removed.len(), 1);
            assert!(report.removed[0].contains("GPS position"));
        }
    }

    #[test]
    fn a_clean_jpeg_is_unchanged() {
        let (_, clean) = jpeg_with_metadata();
        let (out, report) = strip_in_steps(&clean, 5).unwrap();
        assert_eq!(out, clean);
        assert!(report.removed.is_empty(), "{:?}", report.removed);
    }

    #[test]
    fn broken_structure_is_refused_not_passed_through() {
        let mut input = vec![0xFF, 0xD8];
        input.extend_from_slice(&exif_with_gps());
        input.extend_from_slice(b"garbage where a marker belongs");
        assert!(strip_in_steps(&input, 4).is_err());
        // A length below 2 is impossible.
        assert!(strip_in_steps(b"\xFF\xD8\xFF\xE1\x00\x01abcdefghijklmnop", 3).is_err());
    }

    #[test]
    fn a_file_cut_short_inside_exif_keeps_none_of_it() {
        let mut input = vec![0xFF, 0xD8];
        let exif = exif_with_gps();
        input.extend_from_slice(&exif[..exif.len() - 5]);
        let (out, _) = strip_in_steps(&input, 3).unwrap();
        assert_eq!(out, b"\xFF\xD8");
    }
}

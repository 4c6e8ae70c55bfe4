//! Receipts as PDF: a small PDF 1.7 writer that embeds DejaVu Sans Mono
//! (a free font with full Cyrillic, Kyrgyz letters included) as a CID
//! TrueType font with a `ToUnicode` map, so the text renders and copies
//! correctly in every viewer; the QR code is drawn as vector squares.
//!
//! The font is `assets/DejaVuSansMono.ttf` (licence in
//! `assets/DejaVu-LICENSE.txt`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tolom_core::i18n::{text, Language, Text};
use tolom_core::receipt::{Receipt, CONTENT_VERSION};

use crate::facts::{receipt_rows, Readers};

/// The embedded font.
pub const FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");
const FONT_NAME: &str = "DejaVuSansMono";

struct Font<'a> {
    face: ttf_parser::Face<'a>,
    used: BTreeMap<u16, (char, u16)>,
}

impl<'a> Font<'a> {
    fn new() -> Option<Font<'a>> {
        Some(Font {
            face: ttf_parser::Face::parse(FONT, 0).ok()?,
            used: BTreeMap::new(),
        })
    }

    fn scale(&self, v: i32) -> i32 {
        v * 1000 / i32::from(self.face.units_per_em())
    }

    /// The text as a hex string of glyph ids; records the glyphs used.
    fn encode(&mut self, text: &str) -> String {
        let mut out = String::from("<");
        for c in text.chars() {
            let (c, gid) = match self.face.glyph_index(c) {
                Some(g) => (c, g),
                None => (
                    '?',
                    self.face.glyph_index('?').unwrap_or(ttf_parser::GlyphId(0)),
                ),
            };
            let width = self.face.glyph_hor_advance(gid).unwrap_or(0);
            self.used.insert(gid.0, (c, width));
            let _ = write!(out, "{:04X}", gid.0);
        }
        out.push('>');
        out
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

fn pdf_string(s: &str) -> String {
    // UTF-16BE with BOM, as a hex string: safe for any text.
    let mut out = String::from("<FEFF");
    for u in s.encode_utf16() {
        let _ = write!(out, "{u:04X}");
    }
    out.push('>');
    out
}

/// Splits `text` into lines of at most `width` characters, at spaces when
/// possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        loop {
            let len = line.chars().count();
            let wlen = word.chars().count();
            let sep = usize::from(len > 0);
            if len + sep + wlen <= width {
                if sep == 1 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a line: cut it.
            let head: String = word.chars().take(width).collect();
            let tail: String = word.chars().skip(width).collect();
            lines.push(head);
            word = tail;
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Splits `text` into pieces of at most `width` characters (the signed
/// content is printed exactly: no break at spaces, nothing dropped).
fn wrap_chars(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(width.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

/// The receipt as a one-page A4 PDF in `lang`: its facts, key id and
/// signature, the QR code of `verify_url`, and the signed content itself.
pub fn receipt_pdf(r: &Receipt, lang: Language, verify_url: &str) -> Vec<u8> {
    let Some(mut font) = Font::new() else {
        return Vec::new();
    };
    let mut content = String::new();
    let (left, value_x, right) = (48.0_f32, 225.0_f32, 547.0_f32);
    let size = 9.5_f32;
    let char_w = 0.602 * size;
    let value_chars = ((right - value_x) / char_w) as usize;
    let label_chars = ((value_x - left - 6.0) / char_w) as usize;
    let mut y = 790.0_f32;
    let put = |content: &mut String, font: &mut Font<'_>, x: f32, y: f32, sz: f32, s: &str| {
        let hex = font.encode(s);
        let _ = writeln!(content, "BT /F1 {sz:.1} Tf {x:.1} {y:.1} Td {hex} Tj ET");
    };
    let title = format!("{} {}", text(Text::ReceiptHeading, lang), r.number);
    put(&mut content, &mut font, left, y, 15.0, &title);
    y -= 18.0;
    put(
        &mut content,
        &mut font,
        left,
        y,
        size,
        r.operator.name.get(lang),
    );
    y -= 10.0;
    let _ = writeln!(content, "0.5 w {left:.1} {y:.1} m {right:.1} {y:.1} l S");
    y -= 16.0;
    let mut facts = receipt_rows(r, lang, Readers::Pdf);
    facts.push((Text::ReceiptLabelKey, r.key_id.clone()));
    facts.push((Text::ReceiptLabelSignature, r.signature.clone()));
    for (k, v) in facts {
        let key_lines = wrap(&text(k, lang), label_chars);
        let value_lines = wrap(&v, value_chars);
        let n = key_lines.len().max(value_lines.len());
        for i in 0..n {
            if let Some(kl) = key_lines.get(i) {
                put(&mut content, &mut font, left, y, size, kl);
            }
            if let Some(vl) = value_lines.get(i) {
                put(&mut content, &mut font, value_x, y, size, vl);
            }
            y -= size * 1.45;
        }
        y -= 2.0;
    }
    // The QR code, as squares.
    y -= 8.0;
    if let Ok(code) =
        qrcode::QrCode::with_error_correction_level(verify_url.as_bytes(), qrcode::EcLevel::M)
    {
        let modules = code.width();
        let side = 120.0_f32;
        let m = side / modules as f32;
        let top = y;
        content.push_str("0 g\n");
        for (i, color) in code.to_colors().iter().enumerate() {
            if *color == qrcode::Color::Dark {
                let (cx, cy) = ((i % modules) as f32, (i / modules) as f32);
                let _ = writeln!(
                    content,
                    "{:.2} {:.2} {:.2} {:.2} re f",
                    left + cx * m,
                    top - (cy + 1.0) * m,
                    m + 0.01,
                    m + 0.01
                );
            }
        }
        let mut ty = top - 10.0;
        put(
            &mut content,
            &mut font,
            left + side + 16.0,
            ty,
            size,
            &format!("{}:", text(Text::ReceiptVerify, lang)),
        );
        for line in wrap(verify_url, ((right - left - side - 16.0) / char_w) as usize) {
            ty -= size * 1.45;
            put(&mut content, &mut font, left + side + 16.0, ty, size, &line);
        }
        ty -= size * 2.0;
        for line in wrap(
            &text(Text::ReceiptQr, lang),
            ((right - left - side - 16.0) / char_w) as usize,
        ) {
            put(&mut content, &mut font, left + side + 16.0, ty, size, &line);
            ty -= size * 1.45;
        }
        y = top - side;
    }
    // The exact text the signature covers, small, under the QR code.
    let signed = r.signed_content();
    let heading = format!(
        "{} ({}):",
        text(Text::ReceiptLabelSignedContent, lang),
        CONTENT_VERSION
    );
    y -= 14.0;
    put(&mut content, &mut font, left, y, size, &heading);
    let lines: Vec<String> = signed
        .split('\n')
        .flat_map(|l| wrap_chars(l, 130))
        .collect();
    let room = (y - 24.0).max(0.0);
    let small = (room / (lines.len() as f32 * 1.3)).clamp(3.0, 6.0);
    for line in lines {
        y -= small * 1.3;
        put(&mut content, &mut font, left, y, small, &line);
    }
    build(&font, content.as_bytes(), &title)
}

fn build(font: &Font<'_>, content: &[u8], title: &str) -> Vec<u8> {
    let face = &font.face;
    let bbox = face.global_bounding_box();
    let mut widths = String::new();
    for (gid, (_, w)) in &font.used {
        let _ = write!(widths, "{gid} [{}] ", font.scale(i32::from(*w)));
    }
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = font.used.iter().collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (gid, (c, _)) in chunk {
            let mut utf16 = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut utf16)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            let _ = writeln!(cmap, "<{gid:04X}> <{hex}>");
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");

    let content_z = deflate(content);
    let font_z = deflate(FONT);
    let cmap_z = deflate(cmap.as_bytes());
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        stream(&content_z, ""),
        format!("<< /Type /Font /Subtype /Type0 /BaseFont /{FONT_NAME} /Encoding /Identity-H /DescendantFonts [6 0 R] /ToUnicode 9 0 R >>").into_bytes(),
        format!("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{FONT_NAME} /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 7 0 R /CIDToGIDMap /Identity /DW 602 /W [{widths}] >>").into_bytes(),
        format!(
            "<< /Type /FontDescriptor /FontName /{FONT_NAME} /Flags 33 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 8 0 R >>",
            font.scale(i32::from(bbox.x_min)),
            font.scale(i32::from(bbox.y_min)),
            font.scale(i32::from(bbox.x_max)),
            font.scale(i32::from(bbox.y_max)),
            font.scale(i32::from(face.ascender())),
            font.scale(i32::from(face.descender())),
            font.scale(i32::from(face.capital_height().unwrap_or(face.ascender()))),
        )
        .into_bytes(),
        stream(&font_z, &format!(" /Length1 {}", FONT.len())),
        stream(&cmap_z, ""),
        format!("<< /Title {} /Producer (tolom) >>", pdf_string(title)).into_bytes(),
    ];
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, obj) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(obj);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1,
            objects.len()
        )
        .as_bytes(),
    );
    out
}

fn stream(data: &[u8], extra: &str) -> Vec<u8> {
    let mut s = format!(
        "<< /Length {} /Filter /FlateDecode{extra} >>\nstream\n",
        data.len()
    )
    .into_bytes();
    s.extend_from_slice(data);
    s.extend_from_slice(b"\nendstream");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_has_every_kyrgyz_and_russian_letter() {
        let face = ttf_parser::Face::parse(FONT, 0).expect("font parses");
        for c in
            "АаБбВвГгДдЕеЁёЖжЗзИиЙйКкЛлМмНнҢңОоӨөПпРрСсТтУуҮүФфХхЦцЧчШшЩщЪъЫыЬьЭэЮюЯя№«»—".chars()
        {
            assert!(face.glyph_index(c).is_some(), "no glyph for {c}");
        }
    }

    #[test]
    fn wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), vec![""]);
    }
}

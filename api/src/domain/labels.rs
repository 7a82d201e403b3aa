//! Printed documents for a package: the shipping label and the packing slip.
//!
//! Both are rendered as single-page PDFs by pure functions: the caller gathers
//! the data (order, package, addresses, contents) and gets bytes back, with no
//! database and no I/O in here.
//!
//! - [`label_pdf`] draws a 100 × 150 mm (4 × 6 in) thermal label: carrier,
//!   order number, package *n* of *m*, weight, handling marks, the sender and
//!   recipient addresses, and the tracking number as a Code 128 barcode with
//!   the number printed beneath it.
//! - [`packing_slip_pdf`] draws an A4 slip listing what is in the package.
//!
//! Text is set in the standard Type 1 fonts Helvetica and Helvetica-Bold,
//! which every PDF reader ships, so nothing is embedded. The price of that is
//! the character set: only printable ASCII is printed as-is, everything else
//! (Chinese addresses included) comes out as `?` (see `pdf_text`). Printing
//! CJK text needs an embedded CID font and is left for later.
//!
//! Content streams are written uncompressed, which keeps the documents small
//! enough (they are mostly text and rectangles) and lets tests and humans
//! search the bytes.

use barcoders::sym::code128::Code128;
use pdf_writer::{Content, Finish as _, Name, Pdf, Rect, Ref, Str};

/// What a label shows.
#[derive(Clone, Debug)]
pub struct LabelData<'a> {
    /// The order's number, printed in the header.
    pub order_number: &'a str,
    /// The carrier's tracking number, printed as a Code 128 barcode and in
    /// plain text beneath it.
    pub tracking_number: &'a str,
    /// The carrier and service, e.g. "SF Express · EXP".
    pub carrier: &'a str,
    /// The sender's address lines, already formatted.
    pub ship_from: Vec<String>,
    /// The recipient's address lines, already formatted; the first is the
    /// recipient's name and is printed larger.
    pub ship_to: Vec<String>,
    /// This package's position in the shipment, 1-based.
    pub package_no: u32,
    /// How many packages the shipment has.
    pub package_count: u32,
    /// The package's weight in kilograms, already formatted ("2.50").
    pub weight_kg: &'a str,
    /// Handling marks, e.g. `["FRAGILE", "KEEP UPRIGHT"]`, printed prominently
    /// (white on black).
    pub handling: Vec<&'a str>,
}

/// What a packing slip shows.
#[derive(Clone, Debug)]
pub struct SlipData<'a> {
    /// The order's number.
    pub order_number: &'a str,
    /// The carrier's tracking number, if the package has one yet.
    pub tracking_number: Option<&'a str>,
    /// The recipient's address lines, already formatted; the first is the
    /// recipient's name.
    pub ship_to: Vec<String>,
    /// This package's position in the shipment, 1-based.
    pub package_no: u32,
    /// How many packages the shipment has.
    pub package_count: u32,
    /// (line number, SKU, product name, quantity)
    pub contents: Vec<(u32, &'a str, &'a str, i64)>,
}

/// Why a label could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// The tracking number is empty, holds characters Code 128 (set B) cannot
    /// encode, or is too long to fit the label at a scannable bar width.
    #[error("the tracking number cannot be printed as a Code 128 barcode: {0}")]
    Barcode(String),
}

// ---------------------------------------------------------------------------
// Page geometry (PDF points, 1/72 in; the origin is the bottom-left corner).
// ---------------------------------------------------------------------------

/// 100 mm.
const LABEL_WIDTH: f32 = 283.46;
/// 150 mm.
const LABEL_HEIGHT: f32 = 425.2;
const LABEL_MARGIN: f32 = 12.0;

const A4_WIDTH: f32 = 595.28;
const A4_HEIGHT: f32 = 841.89;
const SLIP_MARGIN: f32 = 48.0;

/// Blank modules required on each side of a Code 128 symbol.
const QUIET_ZONE_MODULES: usize = 10;
/// The widest and narrowest bar module used, in points.
const MAX_MODULE: f32 = 1.5;
const MIN_MODULE: f32 = 0.6;
const BAR_HEIGHT: f32 = 60.0;
/// Baseline of the tracking number printed under the bars.
const TRACKING_TEXT_BASELINE: f32 = LABEL_MARGIN + 2.0;
const BAR_BOTTOM: f32 = TRACKING_TEXT_BASELINE + 14.0;
const BAR_TOP: f32 = BAR_BOTTOM + BAR_HEIGHT;
/// The rule separating the barcode from the addresses above it.
const BARCODE_RULE: f32 = BAR_TOP + 10.0;
/// No address text baseline goes below this.
const LABEL_TEXT_FLOOR: f32 = BARCODE_RULE + 6.0;

const MAX_FROM_LINES: usize = 5;
const MAX_TO_LINES: usize = 7;
const MAX_SLIP_ADDRESS_LINES: usize = 7;

// Object ids; both documents have the same structure.
const CATALOG_ID: Ref = Ref::new(1);
const PAGE_TREE_ID: Ref = Ref::new(2);
const PAGE_ID: Ref = Ref::new(3);
const CONTENT_ID: Ref = Ref::new(4);
const REGULAR_FONT_ID: Ref = Ref::new(5);
const BOLD_FONT_ID: Ref = Ref::new(6);

/// Renders a 100 × 150 mm (4 × 6 in, 283.46 × 425.2 pt) shipping label:
/// carrier, order number, package n of m, weight, handling marks, from/to
/// addresses, and the tracking number as a Code 128 barcode with the number
/// printed beneath it in plain text.
///
/// Fails when the tracking number cannot be drawn as a barcode: it is empty,
/// it holds anything but printable ASCII, or it is too long for the label's
/// width at the narrowest scannable bar.
pub fn label_pdf(data: &LabelData<'_>) -> Result<Vec<u8>, LabelError> {
    let modules = encode_tracking_number(data.tracking_number)?;
    let left = LABEL_MARGIN;
    let right = LABEL_WIDTH - LABEL_MARGIN;
    let inner = right - left;

    let symbol_modules = modules.len() + 2 * QUIET_ZONE_MODULES;
    let module = (inner / symbol_modules as f32).min(MAX_MODULE);
    if module < MIN_MODULE {
        return Err(LabelError::Barcode(format!(
            "at {} characters it is too long to fit the label",
            data.tracking_number.chars().count()
        )));
    }

    let mut page = Canvas::new();

    // Header: carrier and package n of m, then order number and weight.
    let mut y = LABEL_HEIGHT - LABEL_MARGIN - 14.0;
    let package = format!("PKG {} OF {}", data.package_no, data.package_count);
    let package_width = page.right(Style::bold(14.0), right, y, &package, inner / 2.0);
    page.left(
        Style::bold(14.0),
        left,
        y,
        data.carrier,
        inner - package_width - 8.0,
    );
    y -= 16.0;
    let weight = format!("Weight {} kg", data.weight_kg);
    let weight_width = page.right(Style::regular(10.0), right, y, &weight, inner / 2.0);
    let order = format!("Order {}", data.order_number);
    page.left(
        Style::regular(10.0),
        left,
        y,
        &order,
        inner - weight_width - 8.0,
    );
    y -= 8.0;
    page.rule(left, right, y, 1.0);

    // Handling marks, white on black, flowed left to right.
    if !data.handling.is_empty() {
        y = page.handling_marks(&data.handling, left, right, y - 6.0);
        y -= 6.0;
        page.rule(left, right, y, 1.0);
    }

    // Sender, small.
    y -= 10.0;
    page.left(Style::bold(7.0), left, y, "FROM", inner);
    for line in data.ship_from.iter().take(MAX_FROM_LINES) {
        if y - 10.0 < LABEL_TEXT_FLOOR {
            break;
        }
        y -= 10.0;
        page.left(Style::regular(8.0), left, y, line, inner);
    }
    y -= 8.0;
    page.rule(left, right, y, 0.5);

    // Recipient, large.
    y -= 11.0;
    page.left(Style::bold(8.0), left, y, "SHIP TO", inner);
    for (i, line) in data.ship_to.iter().take(MAX_TO_LINES).enumerate() {
        let (style, leading) = if i == 0 {
            (Style::bold(14.0), 18.0)
        } else {
            (Style::regular(12.0), 14.5)
        };
        if y - leading < LABEL_TEXT_FLOOR {
            break;
        }
        y -= leading;
        page.left(style, left + 6.0, y, line, inner - 6.0);
    }

    // Barcode, centred, with the quiet zones inside the margins.
    page.rule(left, right, BARCODE_RULE, 1.0);
    let bars_width = modules.len() as f32 * module;
    let bars_left = (LABEL_WIDTH - bars_width) / 2.0;
    let runs = bar_runs(&modules);
    if !runs.is_empty() {
        for (start, len) in runs {
            page.content.rect(
                bars_left + start as f32 * module,
                BAR_BOTTOM,
                len as f32 * module,
                BAR_HEIGHT,
            );
        }
        page.content.fill_nonzero();
    }

    // The number in plain text, 12 pt unless it has to shrink to fit.
    let number = pdf_text(data.tracking_number);
    let width_at_1pt = text_width(Style::regular(1.0), &number);
    let size = if width_at_1pt > 0.0 {
        (inner / width_at_1pt).min(12.0)
    } else {
        12.0
    };
    page.show(
        Style::regular(size),
        (LABEL_WIDTH - width_at_1pt * size) / 2.0,
        TRACKING_TEXT_BASELINE,
        &number,
    );

    Ok(page.into_pdf(LABEL_WIDTH, LABEL_HEIGHT))
}

/// Renders an A4 packing slip: order number, tracking number, ship-to, and a
/// table of the package's contents (line, SKU, product, quantity) with the
/// total quantity.
///
/// The slip is one page; if the contents do not fit, the last row says how
/// many lines were left off (the total still counts them).
pub fn packing_slip_pdf(data: &SlipData<'_>) -> Vec<u8> {
    let left = SLIP_MARGIN;
    let right = A4_WIDTH - SLIP_MARGIN;
    let inner = right - left;

    let mut page = Canvas::new();

    // Title and package n of m.
    let mut y = A4_HEIGHT - SLIP_MARGIN - 20.0;
    let package = format!("PACKAGE {} OF {}", data.package_no, data.package_count);
    let package_width = page.right(Style::bold(12.0), right, y, &package, inner / 2.0);
    page.left(
        Style::bold(20.0),
        left,
        y,
        "PACKING SLIP",
        inner - package_width - 12.0,
    );

    // Order and tracking numbers.
    let value_x = left + 70.0;
    y -= 30.0;
    page.left(Style::bold(10.0), left, y, "Order", 66.0);
    page.left(
        Style::regular(11.0),
        value_x,
        y,
        data.order_number,
        right - value_x,
    );
    y -= 16.0;
    page.left(Style::bold(10.0), left, y, "Tracking", 66.0);
    page.left(
        Style::regular(11.0),
        value_x,
        y,
        data.tracking_number.unwrap_or("not yet assigned"),
        right - value_x,
    );

    // Ship-to.
    y -= 26.0;
    page.left(Style::bold(9.0), left, y, "SHIP TO", inner);
    for (i, line) in data.ship_to.iter().take(MAX_SLIP_ADDRESS_LINES).enumerate() {
        let style = if i == 0 {
            Style::bold(11.0)
        } else {
            Style::regular(11.0)
        };
        y -= 14.0;
        page.left(style, left, y, line, inner);
    }

    // Contents table.
    let line_x = left;
    let sku_x = left + 34.0;
    let name_x = left + 174.0;
    let qty_right = right;
    let qty_width = 60.0;
    y -= 30.0;
    let header = Style::bold(10.0);
    page.left(header, line_x, y, "#", sku_x - line_x - 4.0);
    page.left(header, sku_x, y, "SKU", name_x - sku_x - 8.0);
    page.left(header, name_x, y, "Product", qty_right - qty_width - name_x);
    page.right(header, qty_right, y, "Qty", qty_width);
    page.rule(left, right, y - 6.0, 0.8);
    y -= 6.0;

    let row = Style::regular(10.0);
    let row_height = 18.0;
    // Keep room for the "more lines" row and the total beneath the table.
    let last_row_floor = SLIP_MARGIN + 3.0 * row_height;
    let mut shown = 0_usize;
    for (line_no, sku, name, quantity) in &data.contents {
        let is_last = shown + 1 == data.contents.len();
        let floor = if is_last {
            SLIP_MARGIN + 2.0 * row_height
        } else {
            last_row_floor
        };
        if y - row_height < floor {
            break;
        }
        y -= row_height;
        page.left(row, line_x, y, &line_no.to_string(), sku_x - line_x - 4.0);
        page.left(row, sku_x, y, sku, name_x - sku_x - 8.0);
        page.left(row, name_x, y, name, qty_right - qty_width - name_x);
        page.right(row, qty_right, y, &quantity.to_string(), qty_width);
        shown += 1;
    }
    if data.contents.is_empty() {
        y -= row_height;
        page.left(row, sku_x, y, "(no items)", inner);
    }
    let hidden = data.contents.len() - shown;
    if hidden > 0 {
        y -= row_height;
        let more = if hidden == 1 {
            "... and 1 more line not shown".to_owned()
        } else {
            format!("... and {hidden} more lines not shown")
        };
        page.left(row, sku_x, y, &more, inner);
    }

    // Total.
    page.rule(left, right, y - 8.0, 0.8);
    y -= 24.0;
    let total = data
        .contents
        .iter()
        .fold(0_i64, |sum, (_, _, _, quantity)| {
            sum.saturating_add(*quantity)
        });
    let total_text = format!("Total quantity {total}");
    page.right(Style::bold(10.0), qty_right, y, &total_text, inner);

    page.into_pdf(A4_WIDTH, A4_HEIGHT)
}

/// Converts text to the bytes shown with the WinAnsi-encoded standard fonts:
/// printable ASCII (U+0020 to U+007E) passes through unchanged and every other
/// character becomes `?`, one per character.
///
/// This is a known limitation: anything outside ASCII (Chinese addresses,
/// accented names, "·") prints as `?`. Printing CJK needs an embedded CID font
/// and is left for later. No escaping happens here: `pdf_writer::Str` escapes
/// parentheses and backslashes when it writes the string.
fn pdf_text(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            _ => b'?',
        })
        .collect()
}

/// Encodes a tracking number as Code 128 modules (1 = bar, 0 = space).
///
/// Only printable ASCII is accepted: barcoders reads a few non-ASCII
/// characters ('À', 'Ɓ', 'Ć', 'Ź'…) as set switches and function codes, and
/// they must not sneak in from data. An even number of digits is encoded in
/// the denser set C, anything else in set B.
fn encode_tracking_number(tracking_number: &str) -> Result<Vec<u8>, LabelError> {
    if tracking_number.is_empty() {
        return Err(LabelError::Barcode("it is empty".to_owned()));
    }
    if let Some(c) = tracking_number.chars().find(|&c| !matches!(c, ' '..='~')) {
        return Err(LabelError::Barcode(format!(
            "{c:?} is not a printable ASCII character"
        )));
    }
    let all_digits = tracking_number.bytes().all(|b| b.is_ascii_digit());
    // 'Ć' (U+0106) selects set C, 'Ɓ' (U+0181) set B.
    let data = if all_digits && tracking_number.len().is_multiple_of(2) {
        format!("\u{0106}{tracking_number}")
    } else {
        format!("\u{0181}{tracking_number}")
    };
    let symbol =
        Code128::new(data.as_str()).map_err(|error| LabelError::Barcode(error.to_string()))?;
    Ok(symbol.encode())
}

/// The runs of bars in a module sequence, as (first module, length).
fn bar_runs(modules: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &module) in modules.iter().enumerate() {
        match (module == 1, start) {
            (true, None) => start = Some(i),
            (false, Some(first)) => {
                runs.push((first, i - first));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(first) = start {
        runs.push((first, modules.len() - first));
    }
    runs
}

// ---------------------------------------------------------------------------
// Fonts and text measurement
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    /// The font's name in the page's resource dictionary.
    fn resource(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
        }
    }

    /// Advance widths (per 1000 units of font size) of the characters 32 to
    /// 126 in WinAnsi encoding, from Adobe's AFM metrics.
    fn widths(self) -> &'static [u16; 95] {
        match self {
            Font::Regular => &HELVETICA_WIDTHS,
            Font::Bold => &HELVETICA_BOLD_WIDTHS,
        }
    }
}

#[rustfmt::skip]
const HELVETICA_WIDTHS: [u16; 95] = [
    // 32..=47:  space ! " # $ % & ' ( ) * + , - . /
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    // 48..=63:  0-9 : ; < = > ?
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    // 64..=79:  @ A-O
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    // 80..=95:  P-Z [ \ ] ^ _
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    // 96..=111: ` a-o
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    // 112..=126: p-z { | } ~
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

#[rustfmt::skip]
const HELVETICA_BOLD_WIDTHS: [u16; 95] = [
    // 32..=47:  space ! " # $ % & ' ( ) * + , - . /
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    // 48..=63:  0-9 : ; < = > ?
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    // 64..=79:  @ A-O
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    // 80..=95:  P-Z [ \ ] ^ _
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    // 96..=111: ` a-o
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    // 112..=126: p-z { | } ~
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// A font at a size.
#[derive(Clone, Copy, Debug)]
struct Style {
    font: Font,
    size: f32,
}

impl Style {
    fn regular(size: f32) -> Self {
        Style {
            font: Font::Regular,
            size,
        }
    }

    fn bold(size: f32) -> Self {
        Style {
            font: Font::Bold,
            size,
        }
    }
}

/// The width of already-converted text (see `pdf_text`), in points.
fn text_width(style: Style, text: &[u8]) -> f32 {
    let widths = style.font.widths();
    let units: u32 = text
        .iter()
        .map(|&b| {
            // Bytes outside 32..=126 do not occur after `pdf_text`; count
            // them as an average glyph if they ever do.
            widths
                .get(usize::from(b).wrapping_sub(32))
                .copied()
                .map_or(556, u32::from)
        })
        .sum();
    units as f32 * style.size / 1000.0
}

/// Converts `s` and shortens it with "..." until it fits `max_width`.
fn fitted(style: Style, s: &str, max_width: f32) -> Vec<u8> {
    let mut text = pdf_text(s);
    if text_width(style, &text) <= max_width {
        return text;
    }
    let ellipsis = text_width(style, b"...");
    while !text.is_empty() && text_width(style, &text) + ellipsis > max_width {
        text.pop();
    }
    text.extend_from_slice(b"...");
    text
}

// ---------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------

/// One page's content stream and the helpers that draw on it.
struct Canvas {
    content: Content,
}

impl Canvas {
    fn new() -> Self {
        Canvas {
            content: Content::new(),
        }
    }

    /// Shows already-converted text with its baseline starting at (x, y).
    fn show(&mut self, style: Style, x: f32, y: f32, text: &[u8]) {
        self.content
            .begin_text()
            .set_font(style.font.resource(), style.size)
            .next_line(x, y)
            .show(Str(text))
            .end_text();
    }

    /// Shows `s` left-aligned at `x`, shortened to `max_width`; returns the
    /// width drawn.
    fn left(&mut self, style: Style, x: f32, y: f32, s: &str, max_width: f32) -> f32 {
        let text = fitted(style, s, max_width);
        let width = text_width(style, &text);
        self.show(style, x, y, &text);
        width
    }

    /// Shows `s` right-aligned to `right`, shortened to `max_width`; returns
    /// the width drawn.
    fn right(&mut self, style: Style, right: f32, y: f32, s: &str, max_width: f32) -> f32 {
        let text = fitted(style, s, max_width);
        let width = text_width(style, &text);
        self.show(style, right - width, y, &text);
        width
    }

    /// A horizontal line from `x1` to `x2` at height `y`.
    fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.content
            .set_line_width(width)
            .move_to(x1, y)
            .line_to(x2, y)
            .stroke();
    }

    /// Draws handling marks as white-on-black boxes flowed from `left` to
    /// `right` in rows hanging from `top`; returns the bottom of the last row.
    fn handling_marks(&mut self, marks: &[&str], left: f32, right: f32, top: f32) -> f32 {
        let style = Style::bold(12.0);
        let box_height = 18.0;
        let padding = 5.0;
        let gap = 6.0;
        let mut x = left;
        let mut row_top = top;
        for mark in marks {
            let text = fitted(style, mark, right - left - 2.0 * padding);
            let box_width = text_width(style, &text) + 2.0 * padding;
            if x > left && x + box_width > right {
                x = left;
                row_top -= box_height + 4.0;
            }
            let bottom = row_top - box_height;
            self.content.save_state();
            self.content.set_fill_gray(0.0);
            self.content.rect(x, bottom, box_width, box_height);
            self.content.fill_nonzero();
            self.content.set_fill_gray(1.0);
            self.show(style, x + padding, bottom + 5.0, &text);
            self.content.restore_state();
            x += box_width + gap;
        }
        row_top - box_height
    }

    /// Wraps the content in a single-page PDF of the given size, with
    /// Helvetica and Helvetica-Bold (not embedded, WinAnsi) as F1 and F2.
    fn into_pdf(self, width: f32, height: f32) -> Vec<u8> {
        let mut pdf = Pdf::new();
        pdf.catalog(CATALOG_ID).pages(PAGE_TREE_ID);
        pdf.pages(PAGE_TREE_ID).kids([PAGE_ID]).count(1);

        let mut page = pdf.page(PAGE_ID);
        page.media_box(Rect::new(0.0, 0.0, width, height));
        page.parent(PAGE_TREE_ID);
        page.contents(CONTENT_ID);
        page.resources()
            .fonts()
            .pair(Font::Regular.resource(), REGULAR_FONT_ID)
            .pair(Font::Bold.resource(), BOLD_FONT_ID);
        page.finish();

        pdf.type1_font(REGULAR_FONT_ID)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(BOLD_FONT_ID)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));

        // No filter: the stream stays uncompressed.
        let content = self.content.finish();
        pdf.stream(CONTENT_ID, &content);
        pdf.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack
            .windows(needle.len())
            .any(|window| window == needle)
    }

    fn label(tracking_number: &str) -> LabelData<'_> {
        LabelData {
            order_number: "DD-2024-000123",
            tracking_number,
            carrier: "SF Express - EXP",
            ship_from: vec![
                "Dingdan Warehouse Shanghai".to_owned(),
                "88 Century Avenue".to_owned(),
                "Shanghai 200120, CN".to_owned(),
            ],
            ship_to: vec![
                "Li Wei".to_owned(),
                "12 Nanjing Road (Unit 5)".to_owned(),
                "Shanghai 200001, CN".to_owned(),
            ],
            package_no: 1,
            package_count: 2,
            weight_kg: "2.50",
            handling: vec!["FRAGILE", "KEEP UPRIGHT"],
        }
    }

    #[test]
    fn label_is_a_pdf_with_the_tracking_number_in_plain_text() {
        let bytes = label_pdf(&label("SF1234567890")).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(contains(&bytes, b"SF1234567890"));
        assert!(contains(&bytes, b"Helvetica"));
        assert!(contains(&bytes, b"Helvetica-Bold"));
        assert!(contains(&bytes, b"WinAnsiEncoding"));
        assert!(contains(&bytes, b"FRAGILE"));
        assert!(contains(&bytes, b"PKG 1 OF 2"));
        // Bars are drawn as filled rectangles, and nothing is compressed.
        assert!(contains(&bytes, b" re"));
        assert!(!contains(&bytes, b"FlateDecode"));
        assert!(bytes.ends_with(b"%%EOF"));
    }

    #[test]
    fn all_digit_tracking_numbers_render() {
        // Even length: set C; odd length: set B.
        assert!(label_pdf(&label("123456789012")).is_ok());
        assert!(label_pdf(&label("12345678901")).is_ok());
    }

    #[test]
    fn non_ascii_address_text_is_replaced_not_corrupting() {
        let mut data = label("YT2024000001");
        data.ship_to = vec![
            "张伟 Zhang Wei".to_owned(),
            "上海市浦东新区 Century Ave 88".to_owned(),
        ];
        data.carrier = "SF Express · EXP";
        let bytes = label_pdf(&data).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(contains(&bytes, b"?? Zhang Wei"));
        assert!(contains(&bytes, b"SF Express ? EXP"));
        assert!(!contains(&bytes, "张".as_bytes()));
    }

    #[test]
    fn unprintable_tracking_numbers_are_rejected() {
        // Set B has no control characters, and non-ASCII is refused before
        // barcoders could read 'À' or 'Ć' as a set switch.
        for bad in ["\u{7}", "AB\u{7}C", "é123", "12À34", ""] {
            assert!(
                matches!(label_pdf(&label(bad)), Err(LabelError::Barcode(_))),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn tracking_numbers_too_long_for_the_label_are_rejected() {
        let long = "A".repeat(60);
        assert!(matches!(
            label_pdf(&label(&long)),
            Err(LabelError::Barcode(_))
        ));
    }

    #[test]
    fn pdf_text_keeps_ascii_and_replaces_the_rest() {
        assert_eq!(pdf_text("Ab 1(\\)~"), b"Ab 1(\\)~".to_vec());
        assert_eq!(pdf_text("张a\tb·"), b"?a?b?".to_vec());
    }

    #[test]
    fn bar_runs_group_consecutive_bars() {
        assert_eq!(
            bar_runs(&[1, 1, 0, 1, 0, 0, 1, 1, 1]),
            vec![(0, 2), (3, 1), (6, 3)]
        );
        assert_eq!(bar_runs(&[0, 0]), Vec::<(usize, usize)>::new());
    }

    #[test]
    fn long_text_is_shortened_to_fit() {
        let style = Style::regular(10.0);
        let text = fitted(style, &"W".repeat(100), 100.0);
        assert!(text.ends_with(b"..."));
        assert!(text_width(style, &text) <= 100.0);
    }

    #[test]
    fn slip_lists_every_sku() {
        let data = SlipData {
            order_number: "DD-2024-000123",
            tracking_number: Some("SF1234567890"),
            ship_to: vec!["Li Wei".to_owned(), "Shanghai 200001, CN".to_owned()],
            package_no: 2,
            package_count: 2,
            contents: vec![
                (1, "SKU-TEA-001", "Longjing green tea 250 g", 2),
                (2, "SKU-CUP-014", "Celadon cup (set of 4)", 1),
                (5, "SKU-POT-003", "Yixing teapot", 1),
            ],
        };
        let bytes = packing_slip_pdf(&data);
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(contains(&bytes, b"Helvetica"));
        for (_, sku, _, _) in &data.contents {
            assert!(contains(&bytes, sku.as_bytes()), "{sku} missing");
        }
        assert!(contains(&bytes, b"DD-2024-000123"));
        assert!(contains(&bytes, b"SF1234567890"));
        assert!(contains(&bytes, b"Total quantity 4"));
    }

    #[test]
    fn slip_without_tracking_or_contents_still_renders() {
        let data = SlipData {
            order_number: "DD-1",
            tracking_number: None,
            ship_to: Vec::new(),
            package_no: 1,
            package_count: 1,
            contents: Vec::new(),
        };
        let bytes = packing_slip_pdf(&data);
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(contains(&bytes, b"not yet assigned"));
    }

    #[test]
    fn slip_with_too_many_lines_says_how_many_were_left_off() {
        let contents: Vec<(u32, &str, &str, i64)> =
            (1..=100).map(|i| (i, "SKU-X", "Thing", 1)).collect();
        let data = SlipData {
            order_number: "DD-2",
            tracking_number: None,
            ship_to: vec!["Someone".to_owned()],
            package_no: 1,
            package_count: 1,
            contents,
        };
        let bytes = packing_slip_pdf(&data);
        assert!(contains(&bytes, b"more lines not shown"));
        assert!(contains(&bytes, b"Total quantity 100"));
    }
}

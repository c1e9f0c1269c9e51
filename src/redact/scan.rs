//! The bytes without which no secret can be found: one pass over a line
//! marks each separator (`:`, `=`, `>`), joiner (`_`, `-`), first letter
//! of a token's shape (`A`, `J`, `B`, `b`) and escape (`\\`, `%`), so that
//! the rules look only there. With AVX2, 32 bytes are classified at a time by two table
//! lookups (one per half of each byte), which costs the same however many
//! bytes are marked.

/// The bytes marked.
pub(super) const MARKS: &[u8] = b":=>_-AJBb\\%";

/// Calls `visit` with the position of each marked byte of `line`, in order.
pub(super) fn each_mark(line: &[u8], mut visit: impl FnMut(usize)) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        unsafe { avx2::each_mark(line, &mut visit) };
        return;
    }
    each_mark_bytewise(line, &mut visit);
}

/// Whether each byte value is marked.
const IS_MARK: [bool; 256] = {
    let mut table = [false; 256];
    let mut index = 0;
    while index < MARKS.len() {
        table[MARKS[index] as usize] = true;
        index += 1;
    }
    table
};

/// `each_mark` a byte at a time, where the vector one cannot run.
fn each_mark_bytewise(line: &[u8], visit: &mut impl FnMut(usize)) {
    for (at, &byte) in line.iter().enumerate() {
        if IS_MARK[usize::from(byte)] {
            visit(at);
        }
    }
}

/// The two tables that tell a marked byte by its halves: each distinct
/// high half has a bit; a byte is marked when the bits of its low half
/// (the high halves marked with it) hold its high half's bit.
const NIBBLES: ([u8; 16], [u8; 16]) = {
    let (mut low, mut high) = ([0u8; 16], [0u8; 16]);
    let mut bits = 0;
    let mut index = 0;
    while index < MARKS.len() {
        let byte = MARKS[index];
        let half = (byte >> 4) as usize;
        if high[half] == 0 {
            assert!(bits < 8, "at most 8 distinct high halves");
            high[half] = 1 << bits;
            bits += 1;
        }
        low[(byte & 15) as usize] |= high[half];
        index += 1;
    }
    (low, high)
};

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use crate::redact::scan::NIBBLES;

    /// A table of 16 bytes in both halves of a vector.
    #[target_feature(enable = "avx2")]
    fn table(bytes: &[u8; 16]) -> __m256i {
        let b = bytes.map(|byte| byte as i8);
        _mm256_setr_epi8(
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
            b[14], b[15], b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
            b[12], b[13], b[14], b[15],
        )
    }

    /// The marked bytes of 32, as bits.
    #[target_feature(enable = "avx2")]
    fn marks(chunk: &[u8; 32], low: __m256i, high: __m256i) -> u32 {
        // SAFETY: an unaligned load of the 32 bytes `chunk` holds.
        let bytes = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
        let halves = _mm256_set1_epi8(0x0f);
        let low_bits = _mm256_shuffle_epi8(low, _mm256_and_si256(bytes, halves));
        let high_half = _mm256_and_si256(_mm256_srli_epi16::<4>(bytes), halves);
        let high_bits = _mm256_shuffle_epi8(high, high_half);
        let unmarked = _mm256_cmpeq_epi8(
            _mm256_and_si256(low_bits, high_bits),
            _mm256_setzero_si256(),
        );
        !(_mm256_movemask_epi8(unmarked) as u32)
    }

    /// `super::each_mark`, 32 bytes at a time; the last few are copied
    /// into a block of zeros, which no mark is.
    #[target_feature(enable = "avx2")]
    pub(super) fn each_mark(line: &[u8], visit: &mut impl FnMut(usize)) {
        let (low, high) = (table(&NIBBLES.0), table(&NIBBLES.1));
        let mut chunks = line.chunks_exact(32);
        let mut base = 0;
        for chunk in &mut chunks {
            let chunk: &[u8; 32] = chunk.try_into().expect("chunks of 32");
            visit_bits(marks(chunk, low, high), base, visit);
            base += 32;
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 32];
            last[..rest.len()].copy_from_slice(rest);
            visit_bits(marks(&last, low, high), base, visit);
        }
    }

    fn visit_bits(mut bits: u32, base: usize, visit: &mut impl FnMut(usize)) {
        while bits != 0 {
            visit(base + bits.trailing_zeros() as usize);
            bits &= bits - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn marked(line: &[u8]) -> Vec<usize> {
        let mut found = Vec::new();
        each_mark(line, |at| found.push(at));
        found
    }

    #[test]
    fn every_mark_and_nothing_else_is_found() {
        let line = b"{\"password\": \"x\"} a=b c>d e_f g-h AKIA eyJ Bearer basic zZ\xff\x3a";
        let expected: Vec<usize> = (0..line.len())
            .filter(|&at| MARKS.contains(&line[at]))
            .collect();
        assert_eq!(marked(line), expected);
    }

    proptest! {
        #[test]
        fn the_vector_scan_finds_what_the_bytewise_one_does(
            line in prop::collection::vec(prop_oneof![any::<u8>(), prop::sample::select(MARKS.to_vec())], 0..200)
        ) {
            let mut bytewise = Vec::new();
            each_mark_bytewise(&line, &mut |at| bytewise.push(at));
            prop_assert_eq!(marked(&line), bytewise);
        }
    }
}

//! The checksums that tell a payment card number or an IBAN from any
//! other run of digits: a number that fails them is kept.

/// Whether the digits of `text` (spaces and dashes between them ignored)
/// are 13 to 19 and pass the Luhn check, as every card number does.
pub(super) fn luhn(text: &[u8]) -> bool {
    let digits: Vec<u32> = text
        .iter()
        .filter(|byte| byte.is_ascii_digit())
        .map(|&byte| u32::from(byte - b'0'))
        .collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, &digit)| match index % 2 {
            0 => digit,
            _ if digit * 2 > 9 => digit * 2 - 9,
            _ => digit * 2,
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether `text` (spaces ignored) is an IBAN whose check digits are right
/// (ISO 13616: moved to the end, letters as numbers, mod 97 is 1).
pub(super) fn iban(text: &[u8]) -> bool {
    let compact: Vec<u8> = text.iter().copied().filter(|&b| b != b' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, rest) = compact.split_at(4);
    let mut remainder = 0u32;
    for &byte in rest.iter().chain(head) {
        let value = match byte {
            b'0'..=b'9' => u32::from(byte - b'0'),
            b'A'..=b'Z' => u32::from(byte - b'A') + 10,
            _ => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_pass_luhn_and_other_numbers_do_not() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"4111 1111 1111 1111"));
        assert!(luhn(b"5500-0000-0000-0004"));
        assert!(!luhn(b"4111111111111112"), "one digit off");
        assert!(!luhn(b"1234567812345678"));
        assert!(!luhn(b"0000"), "too short");
    }

    #[test]
    fn ibans_pass_their_check_digits() {
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(iban(b"DE89 3704 0044 0532 0130 00"));
        assert!(!iban(b"GB82WEST12345698765433"));
        assert!(!iban(b"GB82"));
    }
}

//! IEEE half precision by hand: the converter needs f32 → f16 rounding that matches numpy's
//! `astype(np.float16)` (round to nearest, ties to even, subnormals kept), and f16/bf16 → f32.

/// f32 → f16 bits, rounding to nearest with ties to even; overflow becomes infinity.
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let mant = bits & 0x7f_ffff;
    if exp == 0xff {
        // Infinity stays infinity; any NaN becomes a quiet NaN.
        return sign | 0x7c00 | if mant != 0 { 0x200 } else { 0 };
    }
    let half_exp = exp - 127 + 15;
    if half_exp >= 31 {
        return sign | 0x7c00;
    }
    if half_exp <= 0 {
        // Subnormal in f16 (or zero): shift the full significand, then round.
        if half_exp < -10 {
            return sign;
        }
        let full = mant | 0x80_0000;
        let shift = (14 - half_exp) as u32;
        return sign | round_shift(full, shift) as u16;
    }
    // A carry out of the mantissa rounds into the exponent, up to infinity, as it should.
    let rounded = round_shift((half_exp as u32) << 23 | mant, 13);
    sign | rounded as u16
}

/// `value >> shift`, rounded to nearest with ties to even.
fn round_shift(value: u32, shift: u32) -> u32 {
    let kept = value >> shift;
    let rest = value & ((1 << shift) - 1);
    let halfway = 1 << (shift - 1);
    if rest > halfway || (rest == halfway && kept & 1 == 1) {
        kept + 1
    } else {
        kept
    }
}

/// f16 bits → f32 (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let mant = (h & 0x3ff) as u32;
    let magnitude = match exp {
        0 => (mant as f32 * (-24f32).exp2()).to_bits(),
        0x1f => 0x7f80_0000 | (mant << 13),
        _ => ((exp + 127 - 15) << 23) | (mant << 13),
    };
    f32::from_bits(sign | magnitude)
}

/// bfloat16 bits → f32 (exact: bf16 is the top half of an f32).
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_half_survives_a_round_trip_through_f32() {
        for h in 0..=u16::MAX {
            let x = f16_to_f32(h);
            if x.is_nan() {
                assert!(f16_to_f32(f32_to_f16(x)).is_nan());
            } else {
                assert_eq!(f32_to_f16(x), h, "{h:#06x} → {x}");
            }
        }
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(-2.0), 0xc000);
        // 1 + 2^-11 lies halfway between 1 and the next half (1 + 2^-10): ties go to the even one, 1.
        assert_eq!(f32_to_f16(1.0 + (-11f32).exp2()), 0x3c00);
        // 1 + 3·2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
        assert_eq!(f32_to_f16(1.0 + 3.0 * (-11f32).exp2()), 0x3c02);
        assert_eq!(f32_to_f16(1.0 + 1.5 * (-11f32).exp2()), 0x3c01);
        assert_eq!(f32_to_f16(65520.0), 0x7c00); // rounds past the largest half, 65504
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16((-25f32).exp2()), 0); // half the smallest subnormal: tie to even zero
        assert_eq!(f32_to_f16(1.5 * (-25f32).exp2()), 1);
        assert_eq!(f32_to_f16(1e-10), 0);
        assert_eq!(f32_to_f16(f32::INFINITY), 0x7c00);
    }

    #[test]
    fn bfloat16_is_the_top_half() {
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc000), -2.0);
    }
}

use super::*;

fn n(s: &str) -> String {
    normalize(s)
}

#[test]
fn numbers_ordinals_decimals() {
    assert_eq!(n("I have 3 cats."), "I have three cats.");
    assert_eq!(n("1,234 people"), "one thousand two hundred thirty-four people");
    assert_eq!(n("It's 3.14."), "It's three point one four.");
    assert_eq!(n("-5 and 2,500,000,000"), "minus five and two billion five hundred million");
    assert_eq!(n("the 21st and 3rd"), "the twenty-first and third");
    assert_eq!(n("pages 5-10"), "pages five to ten");
}

#[test]
fn times_and_dates() {
    assert_eq!(n("It is 14:05."), "It is two oh five PM.");
    assert_eq!(n("at 9:00"), "at nine o'clock AM");
    assert_eq!(n("at 3:30 pm today"), "at three thirty PM today");
    assert_eq!(n("at 7 pm"), "at seven PM");
    assert_eq!(n("on 2024-03-15"), "on March fifteenth, twenty twenty-four");
    assert_eq!(n("born in 1990"), "born in nineteen ninety");
    assert_eq!(n("since 2005"), "since two thousand five");
    assert_eq!(n("We have 2024 items"), "We have two thousand twenty-four items");
}

#[test]
fn units_and_temperatures() {
    assert_eq!(n("It's 14°C outside."), "It's fourteen degrees Celsius outside.");
    assert_eq!(n("-3 °F"), "minus three degrees Fahrenheit");
    assert_eq!(n("1°C"), "one degree Celsius");
    assert_eq!(n("5 km/h"), "five kilometers per hour");
    assert_eq!(n("1 km"), "one kilometer");
    assert_eq!(n("50% off"), "fifty percent off");
    assert_eq!(n("2.5kg"), "two point five kilograms");
    assert_eq!(n("Plan 5 A"), "Plan five A");
}

#[test]
fn currency() {
    assert_eq!(n("It costs $3.50."), "It costs three dollars and fifty cents.");
    assert_eq!(n("$1"), "one dollar");
    assert_eq!(n("€4"), "four euros");
    assert_eq!(n("£0.99"), "ninety-nine pence");
    assert_eq!(n("$1.5 million"), "one point five million dollars");
}

#[test]
fn abbreviations_and_symbols() {
    assert_eq!(n("Dr. Smith lives on Main St. in town."), "Doctor Smith lives on Main Street in town.");
    assert_eq!(n("St. Louis"), "Saint Louis");
    assert_eq!(n("Fruit, e.g. apples, etc. are good"), "Fruit, for example apples, et cetera are good");
    assert_eq!(n("apples, pears, etc."), "apples, pears, et cetera.");
    assert_eq!(n("Tom & Jerry"), "Tom and Jerry");
    assert_eq!(n("2 + 2 = 4"), "two plus two equals four");
    assert_eq!(n("No. 5"), "number five");
}

#[test]
fn bad_input_is_cleaned_not_fatal() {
    assert_eq!(n(""), "");
    assert_eq!(n("   \t\n "), "");
    assert_eq!(n("Hi 😀 there\u{7}!"), "Hi there !");
    assert_eq!(n("a\u{0}b"), "a b");
    let long = "word ".repeat(2000);
    assert_eq!(n(&long).len(), long.trim_end().len());
    assert_eq!(n("$"), "");
    assert_eq!(n("99999999999999999999"), "99999999999999999999");
}

#[test]
fn sentences_split_and_long_ones_are_cut() {
    assert_eq!(split_sentences("Hi there. How are you? Fine!", 400), vec!["Hi there.", "How are you?", "Fine!"]);
    assert_eq!(split_sentences("Pi is 3.14 today.", 400), vec!["Pi is 3.14 today."]);
    assert_eq!(split_sentences("  ", 400), Vec::<String>::new());
    let long = "alpha beta, ".repeat(100);
    let pieces = split_sentences(&long, 100);
    assert!(pieces.len() >= 12, "{}", pieces.len());
    assert!(pieces.iter().all(|p| p.chars().count() <= 100 && !p.is_empty()));
    let no_spaces = "x".repeat(1000);
    assert_eq!(split_sentences(&no_spaces, 100).len(), 10);
}

import { base58CheckValid, bech32Valid, ibanMod97Valid, luhnValid } from "./checksums.js";
import { isPlaceholderBody, longestSequentialRun, shannonEntropy } from "./placeholder.js";

describe("checksums", () => {
  it.each([
    ["4111111111111111", true],
    ["4111111111111112", false],
    ["79927398713", true],
    ["", false],
  ])("luhn %s → %s", (digits, ok) => expect(luhnValid(digits)).toBe(ok));

  it.each([
    ["DE89370400440532013000", true],
    ["DE89370400440532013001", false],
    ["GB82WEST12345698765432", true],
    ["GB82WEST1234569876543!", false],
  ])("iban mod-97 %s → %s", (iban, ok) => expect(ibanMod97Valid(iban)).toBe(ok));

  it.each([
    ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", true],
    ["3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", true],
    ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", false],
    ["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN0", false], // "0" is not base58
  ])("base58check %s → %s", (a, ok) => expect(base58CheckValid(a)).toBe(ok));

  it.each([
    ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", true],
    ["bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297", true], // bech32m
    ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp", false],
  ])("bech32 %s → %s", (a, ok) => expect(bech32Valid(a)).toBe(ok));
});

describe("placeholder heuristics", () => {
  it("measures entropy and sequential runs", () => {
    expect(shannonEntropy("aaaa")).toBe(0);
    expect(shannonEntropy("abcd")).toBe(2);
    expect(longestSequentialRun("xxABCDEFyy")).toBe(6);
    expect(longestSequentialRun("a1234b")).toBe(4);
  });

  it.each([
    ["xxxxxxxxxxxxxxxxxxxx", true],
    ["12312312312312312312", true],
    ["ABCDEFGHIJKLMNOP", true],
    ["IOSFODNN7EXAMPLE", true],
    ["Q7xkP2mVn9TzR4wLs8Yb", false],
  ])("%s is a placeholder: %s", (body, yes) => expect(isPlaceholderBody(body)).toBe(yes));
});

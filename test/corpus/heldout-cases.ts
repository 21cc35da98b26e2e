/**
 * An independent held-out set for the masking engine, written from format knowledge
 * (issuer card ranges and Luhn, IBAN registry and mod-97, BIP-173/350 and base58check test
 * vectors, RFC 7516 JWE, ITU-T E.164 numbering, RFC 4291 IPv6 text forms, scanner rule
 * shapes) — not from the shared corpus, and never used to tune a single case: detectors are
 * fixed by class. Positives name the substring that must disappear; negatives must come
 * back unchanged.
 */
export interface HeldOutCase {
  kind: string;
  text: string;
  /** Must no longer occur after masking; null for negatives (text must be unchanged). */
  secret: string | null;
}

/** Completes a card number prefix with its Luhn check digit. */
function luhn(prefix: string): string {
  for (let c = 0; c <= 9; c++) {
    const n = prefix + c;
    let sum = 0;
    for (let i = 0; i < n.length; i++) {
      let d = Number(n[n.length - 1 - i]);
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 === 0) return n;
  }
  throw new Error("unreachable");
}

const group4 = (n: string) => n.match(/.{1,4}/g)!.join(" ");
const pos = (kind: string, text: string, secret: string): HeldOutCase => ({ kind, text, secret });
const neg = (kind: string, text: string): HeldOutCase => ({ kind, text, secret: null });

const visa = luhn("453914880343646");
const mc = luhn("222300004840001");
const unionpay62 = luhn("621483000000000");
const unionpay81 = luhn("817199992766000");
const unionpay19 = luhn("623456789012345678");
const jcb = luhn("353011133330000");
const maestro = luhn("67595555555555");

export const HELD_OUT: readonly HeldOutCase[] = [
  // ---- payment cards: glued to words ending in digits, printed groups, every issuer family
  pos("credit_card", `card2 ${visa}`, visa),
  pos("credit_card", `v2 ${visa}`, visa),
  pos("credit_card", `x9 ${group4(visa)}`, group4(visa)),
  pos("credit_card", `item3: ${group4(mc)} exp 04/29`, group4(mc)),
  pos("credit_card", `UnionPay ${unionpay62}`, unionpay62),
  pos("credit_card", `unionpay card ${group4(unionpay81)}`, group4(unionpay81)),
  pos("credit_card", `CUP 19-digit ${unionpay19}`, unionpay19),
  pos("credit_card", `JCB:${jcb}`, jcb),
  pos("credit_card", `maestro ${maestro}`, maestro),
  pos("credit_card", `pan=${mc.slice(0, 4)}-${mc.slice(4, 8)}-${mc.slice(8, 12)}-${mc.slice(12)}`, `${mc.slice(0, 4)}-${mc.slice(4, 8)}-${mc.slice(8, 12)}-${mc.slice(12)}`),
  neg("credit_card", `order ${group4(visa.slice(0, 15) + ((Number(visa[15]) + 1) % 10))} shipped`),
  neg("credit_card", "ISBN 978-3-16-148410-0 and 978-0-306-40615-7"),
  neg("credit_card", "epoch millis 1700000000000 and 1712345678901"),
  neg("credit_card", "UPS 1Z999AA10123456784"),
  neg("credit_card", "amount 4111.11 EUR, ref 2024-000123"),

  // ---- e-mail: internationalised domains, sub-addressing, escapes
  pos("email", "write to info@münchen.de today", "info@münchen.de"),
  pos("email", "kontakt: anna@bücher.example", "anna@bücher.example"),
  pos("email", "用户@例子.广告", "用户@例子.广告"),
  pos("email", "ops+alerts@sub.example.co.uk", "ops+alerts@sub.example.co.uk"),
  pos("email", "first.last@xn--mnchen-3ya.de", "first.last@xn--mnchen-3ya.de"),
  pos("email", "JOHN.DOE@EXAMPLE.ORG", "JOHN.DOE@EXAMPLE.ORG"),
  neg("email", "follow @agentgate on the fediverse"),
  neg("email", "npm i left-pad@1.3.0 and react@latest"),
  neg("email", "image logo@2x.png"),

  // ---- IBAN: compact and in the groups banks print
  pos("iban", "IBAN: DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00"),
  pos("iban", "GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32"),
  pos("iban", "pay FR14 2004 1010 0505 0001 3M02 606 by friday", "FR14 2004 1010 0505 0001 3M02 606"),
  pos("iban", "NL91ABNA0417164300", "NL91ABNA0417164300"),
  pos("iban", "IBAN DE89-3704-0044-0532-0130-00", "DE89-3704-0044-0532-0130-00"),
  pos("iban", "iban: de89 3704 0044 0532 0130 00", "de89 3704 0044 0532 0130 00"),
  pos("iban", "CH93 0076 2011 6238 5295 7", "CH93 0076 2011 6238 5295 7"),
  neg("iban", "DE89 3704 0044 0532 0130 01"),
  neg("iban", "order GB00 0000 0000 0000"),

  // ---- tokens: JWE (5 segments), JWS
  pos(
    "jwt",
    "enc: eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jvQRb2wmZ76jRMV3anvmh6w_w_TV_8y68c75ogbTFjMmz_wX5wkgUJYsB_r7G3XNylGCx9DxwnDnI_Y6rFmpSQpRqcHtLVzuhCrhmMHvm7wLgXFXV1bJw.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ",
    "OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx",
  ),
  pos("jwt", "Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UifQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q", "eyJpc3MiOiJqb2UifQ"),
  neg("jwt", "the header eyJ prefix marks base64 JSON"),

  // ---- phones: E.164 and national forms near a phone word
  pos("phone", "tel: +44 20 7946 0958", "20 7946 0958"),
  pos("phone", "Telefon: 030 12345678", "030 12345678"),
  pos("phone", "phone +33 1 23 45 67 89", "23 45 67 89"),
  pos("phone", "mobile: 07700 900123", "07700 900123"),
  pos("phone", "call me on +61 2 9876 5432", "9876 5432"),
  pos("phone", "Tel. +49 (0)30 901820", "901820"),
  pos("phone", "whatsapp +91 98765 43210", "98765 43210"),
  neg("phone", "server 10.0.0.1234 answered"),
  neg("phone", "release 2.14.1024.4096 ships"),
  neg("phone", "meeting 12:30-13:45 in room 101"),
  neg("phone", "population 8 000 000 in 2020"),

  // ---- IP addresses incl. short IPv6 forms
  pos("ip_address", "bind ::1 only", "::1"),
  pos("ip_address", "link-local fe80::1%eth0", "fe80::1"),
  pos("ip_address", "peer 2001:db8::8a2e:370:7334", "2001:db8::8a2e:370:7334"),
  pos("ip_address", "mapped ::ffff:192.0.2.128", "192.0.2.128"),
  pos("ip_address", "host 203.0.113.42 down", "203.0.113.42"),
  neg("ip_address", "use std::vector and Foo::Bar"),
  neg("ip_address", "at 12:30:45 the job ran"),
  neg("ip_address", "version 1.2.3.4567"),

  // ---- crypto wallets: upper-case bech32, testnet
  pos("crypto_wallet", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"),
  pos("crypto_wallet", "send to tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"),
  pos("crypto_wallet", "testnet mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"),
  pos("crypto_wallet", "p2sh 2N2JD6wb56AfK4tfmM6PwdVmoYk2dCKf4Br", "2N2JD6wb56AfK4tfmM6PwdVmoYk2dCKf4Br"),
  pos("crypto_wallet", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),
  neg("crypto_wallet", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"),

  // ---- assignments whose key is not a classic keyword; low-entropy values in secret positions
  pos("generic_secret", "APP_KEY=base64:Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA=="),
  pos("generic_secret", '{"key": "f3a9c1d2e4b5a6978877665544332211"}', "f3a9c1d2e4b5a6978877665544332211"),
  pos("generic_secret", "stripeWebhookKey = 'whk9f8e7d6c5b4a3f2e1d0c'", "whk9f8e7d6c5b4a3f2e1d0c"),
  pos("generic_secret", "license_key: LK7F3A-91BC-22DE-4410", "LK7F3A-91BC-22DE-4410"),
  pos("generic_secret", "encryptionKey: 'a8f5f167f44f4964e6c998dee827110c'", "a8f5f167f44f4964e6c998dee827110c"),
  pos("generic_secret", "DB_PASSWORD=admin123", "admin123"),
  pos("generic_secret", "password: letmein", "letmein"),
  pos("generic_secret", "secret_key = 'abc123'", "abc123"),
  pos("generic_secret", "signingSecret=8f14e45fceea167a5a36dedd4bea2543", "8f14e45fceea167a5a36dedd4bea2543"),
  pos("generic_secret", "export MASTER_KEY=Qm9zc2FuZE1hc3Rlcg", "Qm9zc2FuZE1hc3Rlcg"),
  pos("aws_access_key", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
  pos("aws_secret", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
  neg("generic_secret", '{"key": "user-preferences", "value": {"theme": "dark"}}'),
  neg("generic_secret", "primary_key: id"),
  neg("generic_secret", "sort_key = created_at"),
  neg("generic_secret", "the foreign key constraint failed"),
  neg("generic_secret", "max_tokens = 1024"),
  neg("generic_secret", "password_reset_url: https://example.com/reset"),
  neg("generic_secret", "monkey: banana"),
  neg("generic_secret", "keyboard: us-intl"),
  neg("generic_secret", "tokenizer: cl100k_base"),
  neg("generic_secret", "the password field is required"),
];

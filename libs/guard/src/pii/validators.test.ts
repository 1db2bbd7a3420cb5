import { describe, expect, it } from "vitest";
import {
  dateValid,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  luhnValid,
  mod97,
  ssnValid,
} from "./validators.js";

describe("luhnValid", () => {
  it("accepts well-known test card numbers and rejects a changed digit", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("5500 0000 0000 0004")).toBe(true);
    expect(luhnValid("3782-822463-10005")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(luhnValid("7")).toBe(false);
  });
});

describe("ibanValid", () => {
  it("checks mod-97 and the country length", () => {
    expect(ibanValid("DE89 3704 0044 0532 0130 00")).toBe(true);
    expect(ibanValid("GB82WEST12345698765432")).toBe(true);
    expect(ibanValid("GB82WEST12345698765433")).toBe(false);
    expect(ibanValid("DE89370400440532013")).toBe(false);
    expect(ibanValid("not an iban")).toBe(false);
  });

  it("computes mod 97 over long digit strings without precision loss", () => {
    expect(mod97("3214282912345698765432161182")).toBe(1);
    expect(mod97("12a")).toBe(-1);
  });
});

describe("ssnValid", () => {
  it("applies the area, group and serial rules", () => {
    expect(ssnValid("531-21-7351")).toBe(true);
    expect(ssnValid("000-12-3456")).toBe(false);
    expect(ssnValid("666-12-3456")).toBe(false);
    expect(ssnValid("912-12-3456")).toBe(false);
    expect(ssnValid("531-00-7351")).toBe(false);
    expect(ssnValid("531-21-0000")).toBe(false);
    expect(ssnValid("078-05-1120")).toBe(false);
    expect(ssnValid("111111111")).toBe(false);
  });
});

describe("IP and date validators", () => {
  it("validates IPv4 octets", () => {
    expect(ipv4Valid("58.74.121.78")).toBe(true);
    expect(ipv4Valid("256.1.1.1")).toBe(false);
    expect(ipv4Valid("01.2.3.4")).toBe(false);
  });

  it("validates IPv6 forms", () => {
    expect(ipv6Valid("2001:db8::8a2e:370:7334")).toBe(true);
    expect(ipv6Valid("2001:0db8:0000:0000:0000:ff00:0042:8329")).toBe(true);
    expect(ipv6Valid("::1")).toBe(true);
    expect(ipv6Valid("::ffff:192.168.1.1")).toBe(true);
    expect(ipv6Valid("14:48:14")).toBe(false);
    expect(ipv6Valid("1::2::3")).toBe(false);
    expect(ipv6Valid("12345::1")).toBe(false);
  });

  it("validates calendar dates", () => {
    expect(dateValid(2024, 2, 29)).toBe(true);
    expect(dateValid(2023, 2, 29)).toBe(false);
    expect(dateValid(2023, 13, 1)).toBe(false);
  });
});

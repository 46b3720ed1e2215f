import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AddressPool, intToIp, ipToInt, parseBlock } from "../../emulate/addressing.ts";

describe("address block", () => {
  it("IPv4 addresses round-trip through integers", () => {
    for (const ip of ["10.213.0.1", "192.168.255.254", "0.0.0.0"]) assert.equal(intToIp(ipToInt(ip)), ip);
  });

  const bad: { cidr: string; error: RegExp }[] = [
    { cidr: "8.8.8.0/24", error: /must lie inside 10\/8/ },
    { cidr: "10.0.0.1/24", error: /not aligned/ },
    { cidr: "10.0.0.0/30", error: /prefix length/ },
    { cidr: "10.0.0.0", error: /expected "a.b.c.d\/len"/ },
    { cidr: "10.0.300.0/24", error: /not an IPv4 address/ },
  ];
  for (const c of bad)
    it(`the block ${c.cidr} is refused`, () => assert.throws(() => parseBlock(c.cidr), c.error));

  it("nodes take the bottom, links start at the next multiple of 256, virtual links take the top", () => {
    const pool = new AddressPool("10.213.0.0/16", 3);
    assert.deepEqual(
      [0, 1, 2].map((i) => pool.nodeAddress(i)),
      ["10.213.0.1", "10.213.0.2", "10.213.0.3"],
    );
    assert.deepEqual(pool.takeLink(), { a: "10.213.1.0", b: "10.213.1.1" });
    assert.deepEqual(pool.takeLink(), { a: "10.213.1.2", b: "10.213.1.3" });
    assert.deepEqual(pool.takeTop(), { a: "10.213.255.254", b: "10.213.255.255" });
  });

  it("a full block says which allocation did not fit", () => {
    const pool = new AddressPool("10.0.0.0/23", 200);
    for (let i = 0; i < 128; i++) pool.takeLink();
    assert.throws(() => pool.takeLink(), /10.0.0.0\/23 is too small for the link subnets/);
  });

  it("a pool resumes from a saved cursor", () => {
    const a = new AddressPool("10.213.0.0/16", 3);
    a.takeTop();
    const b = new AddressPool("10.213.0.0/16", 3).resume(a.cursor);
    assert.deepEqual(b.takeTop(), { a: "10.213.255.252", b: "10.213.255.253" });
  });
});

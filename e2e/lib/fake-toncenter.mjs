// A small fake of toncenter's API v3 (the TON indexer) holding one merchant wallet's incoming
// Toncoin transfers, shaped like the real answers the shop reads (string lt and values, base64
// hashes, a decoded text comment): `GET /api/v3/transactions` honours `start_lt`,
// `start_utime`, `sort=asc` and `limit`; `GET /api/v3/jetton/transfers` lists none. The backend
// suite's fake (backend/tests/support/fake_toncenter.rs) is the strict one; this one lets a
// browser test put a transfer into the wallet and watch the shop count it.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

/** A buyer's wallet (raw form, as toncenter spells addresses). */
export const BUYER = '0:83DFD552E63729B472FCBCC8C45EBCC6691702558B68EC7527E1BA403A0F31A8';

/** @param {string} wallet the merchant's wallet as the shop is configured with it */
export async function startFakeToncenter(wallet) {
  /** @type {any[]} */
  const txs = [];
  /** @type {string[]} */
  const requests = [];
  let lt = 47_000_000_000_000;

  const answer = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push(url.pathname + url.search);
    if (req.method !== 'GET') return answer(res, 405, { error: 'method not allowed' });
    if (url.pathname === '/api/v3/jetton/transfers') return answer(res, 200, { jetton_transfers: [], metadata: {} });
    if (url.pathname !== '/api/v3/transactions') return answer(res, 404, { error: 'not found' });
    const q = url.searchParams;
    if ((q.get('sort') ?? 'desc') !== 'asc') return answer(res, 422, { error: 'the shop reads oldest first' });
    const startLt = BigInt(q.get('start_lt') ?? '0');
    const startUtime = Number(q.get('start_utime') ?? '0');
    const limit = Number(q.get('limit') ?? '10');
    const list = txs
      .filter((t) => BigInt(t.lt) >= startLt && t.now >= startUtime)
      .slice(0, limit);
    answer(res, 200, { transactions: list, address_book: {} });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();

  return {
    url: `http://127.0.0.1:${port}/api/v3`,
    requests,
    /**
     * An incoming Toncoin transfer of `nanotons` with text `comment` lands in the wallet;
     * answers its transaction hash (base64).
     */
    payTon(nanotons, comment) {
      lt += 1_000_003;
      const hash = randomBytes(32).toString('base64');
      const now = Math.floor(Date.now() / 1000);
      txs.push({
        account: wallet,
        hash,
        lt: String(lt),
        now,
        mc_block_seqno: 40_000_000,
        orig_status: 'active',
        end_status: 'active',
        total_fees: '1000000',
        description: {
          type: 'ord',
          aborted: false,
          destroyed: false,
          credit_first: false,
          credit_ph: { credit: String(nanotons) },
          compute_ph: { skipped: false, success: true, exit_code: 0 },
          action: { success: true, valid: true, result_code: 0, tot_actions: 0 },
        },
        in_msg: {
          hash: randomBytes(32).toString('base64'),
          source: BUYER,
          destination: wallet,
          value: String(nanotons),
          created_lt: String(lt - 1),
          created_at: String(now),
          opcode: '0x00000000',
          bounce: false,
          bounced: false,
          message_content: { decoded: { type: 'text_comment', comment } },
        },
        out_msgs: [],
        emulated: false,
      });
      return hash;
    },
    close: () => new Promise((ok) => server.close(ok)),
  };
}

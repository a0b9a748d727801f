// A small fake of the Telegram Bot API (`POST /bot<token>/<method>`, JSON bodies) for the
// payment journeys. It is strict where Telegram is strict, so the shop cannot pass by sending
// what the real API would refuse: wrong token 401, unknown method 404, invoices checked the
// way Telegram checks them (title 1-32, description 1-255, payload 1-128 bytes, a currency,
// labelled integer prices; XTR: empty provider_token and exactly one price), webhook URLs and
// web_app buttons https only, prepared inline messages without web_app buttons. getMe names the
// bot `e2e_shop_bot`. Every call is recorded, refused ones too.
import { createServer } from 'node:http';

/**
 * @param {string} token  the bot token the shop is configured with
 */
export async function startFakeBotApi(token) {
  /** @type {{ method: string, body: any, refused?: string }[]} */
  const calls = [];
  let links = 0;
  let prepared = 0;

  const answer = (res, status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const ok = (res, result) => answer(res, 200, { ok: true, result });

  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url, 'http://x').pathname);
      if (req.method !== 'POST' || !m) return answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      const [, tok, method] = m;
      let body = {};
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch {
        body = null;
      }
      const call = { method, body };
      calls.push(call);
      const refuse = (status, description) => {
        call.refused = description;
        answer(res, status, { ok: false, error_code: status, description });
      };
      const bad = (d) => refuse(400, `Bad Request: ${d}`);
      if (tok !== token) return refuse(401, 'Unauthorized');
      if (body === null) return bad("can't parse JSON");

      // One InlineQueryResult as Telegram checks it: an id of 1-64 bytes, a known type with
      // its fields, and no web_app button (Telegram refuses those in inline results).
      const resultProblem = (r) => {
        const id = String(r?.id ?? '');
        if (Buffer.byteLength(id) < 1 || Buffer.byteLength(id) > 64) return 'RESULT_ID_INVALID';
        if (r.type === 'article') {
          if (!r.title) return 'RESULT_TITLE_EMPTY';
          if (!r.input_message_content?.message_text) return 'MESSAGE_EMPTY';
        } else if (r.type === 'photo') {
          if (!r.photo_url || !r.thumbnail_url) return 'PHOTO_INVALID';
        } else {
          return 'RESULT_TYPE_INVALID';
        }
        const buttons = (r.reply_markup?.inline_keyboard ?? []).flat();
        if (buttons.some((b) => b.web_app || !b.text)) return 'BUTTON_TYPE_INVALID';
        if (buttons.some((b) => b.url && !/^(https|tg):\/\//.test(b.url))) return 'BUTTON_URL_INVALID';
        return null;
      };

      switch (method) {
        case 'getMe':
          return ok(res, {
            id: Number(token.split(':')[0]),
            is_bot: true,
            first_name: 'Shop',
            username: 'e2e_shop_bot',
            supports_inline_queries: true,
          });
        case 'savePreparedInlineMessage': {
          if (!Number.isInteger(body.user_id)) return bad('user_id is required');
          const problem = resultProblem(body.result);
          if (problem) return bad(problem);
          const chats = ['allow_user_chats', 'allow_bot_chats', 'allow_group_chats', 'allow_channel_chats'];
          if (!chats.some((k) => body[k] === true)) return bad('at least one chat type must be allowed');
          prepared += 1;
          return ok(res, { id: `prepared_${prepared}`, expiration_date: Math.floor(Date.now() / 1000) + 86_400 });
        }
        case 'setWebhook': {
          if (!String(body.url ?? '').startsWith('https://')) return bad('bad webhook: An HTTPS URL must be provided for webhook');
          const s = body.secret_token ?? '';
          if (s && (s.length > 256 || !/^[A-Za-z0-9_-]+$/.test(s))) return bad('secret token contains unallowed characters');
          return ok(res, true);
        }
        case 'deleteWebhook':
          return ok(res, true);
        case 'setMyCommands': {
          const cmds = body.commands;
          if (!Array.isArray(cmds) || cmds.length === 0 || cmds.length > 100) return bad('commands must be non-empty');
          const valid = (c) =>
            /^[a-z0-9_]{1,32}$/.test(c.command ?? '') && typeof c.description === 'string' && c.description.length > 0;
          if (!cmds.every(valid)) return bad('BOT_COMMAND_INVALID');
          return ok(res, true);
        }
        case 'setChatMenuButton': {
          const mb = body.menu_button ?? {};
          if (mb.type === 'web_app' && !String(mb.web_app?.url ?? '').startsWith('https://')) return bad('BUTTON_URL_INVALID');
          return ok(res, true);
        }
        case 'getStarTransactions':
          return ok(res, { transactions: [] });
        case 'getUpdates':
          return ok(res, []);
        case 'createInvoiceLink': {
          const { title = '', description = '', payload = '', currency = '', prices } = body;
          if (title.length < 1 || [...title].length > 32) return bad('INVOICE_TITLE_INVALID');
          if (description.length < 1 || [...description].length > 255) return bad('INVOICE_DESCRIPTION_INVALID');
          const bytes = Buffer.byteLength(payload);
          if (bytes < 1 || bytes > 128) return bad('INVOICE_PAYLOAD_INVALID');
          if (!/^[A-Z]{3}$/.test(currency)) return bad('CURRENCY_INVALID');
          if (
            !Array.isArray(prices) ||
            prices.length === 0 ||
            prices.some((p) => !p.label || !Number.isInteger(p.amount))
          ) {
            return bad('prices are required');
          }
          if (currency === 'XTR') {
            if ((body.provider_token ?? '') !== '') return bad('PROVIDER_TOKEN_INVALID');
            if (prices.length !== 1) return bad('XTR invoices must have exactly one price');
            if ('max_tip_amount' in body) return bad('tips are not allowed for XTR');
            if (prices[0].amount < 1) return bad('XTR amount must be at least 1');
          } else if (!body.provider_token) {
            return bad('PAYMENT_PROVIDER_INVALID');
          }
          links += 1;
          call.link = `https://t.me/$invoice-${links}`;
          return ok(res, call.link);
        }
        case 'answerPreCheckoutQuery':
          if (typeof body.pre_checkout_query_id !== 'string' || typeof body.ok !== 'boolean') {
            return bad('pre_checkout_query_id and ok are required');
          }
          if (body.ok === false && !body.error_message) return bad('ERROR_MESSAGE_EMPTY');
          return ok(res, true);
        case 'sendMessage': {
          if (!Number.isInteger(body.chat_id)) return bad('chat_id is empty');
          const text = body.text ?? '';
          if (text.length === 0 || [...text].length > 4096) return bad('message text is empty or too long');
          const buttons = (body.reply_markup?.inline_keyboard ?? []).flat();
          if (buttons.some((b) => b.web_app && !String(b.web_app.url).startsWith('https://'))) {
            return bad('BUTTON_TYPE_INVALID');
          }
          return ok(res, { message_id: calls.length, chat: { id: body.chat_id, type: 'private' }, date: 0, text });
        }
        default:
          return refuse(404, 'Not Found');
      }
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;

  return {
    url,
    calls,
    /** Bodies of every accepted call of `method`, oldest first. */
    of(method) {
      return calls.filter((c) => c.method === method && !c.refused).map((c) => c.body);
    },
    /** Calls Telegram would have refused (the shop must send none). */
    refused() {
      return calls.filter((c) => c.refused).map((c) => `${c.method}: ${c.refused}`);
    },
    /** The createInvoiceLink call that made `link`. */
    invoice(link) {
      return calls.find((c) => c.method === 'createInvoiceLink' && c.link === link)?.body;
    },
    /** Waits until a call of `method` matches `pred`; answers its body. */
    async waitFor(method, pred = () => true, timeout = 10_000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const hit = calls.find((c) => c.method === method && !c.refused && pred(c.body));
        if (hit) return hit.body;
        if (Date.now() > deadline) {
          throw new Error(`no ${method} call matched; calls: ${calls.map((c) => c.method).join(', ')}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  };
}

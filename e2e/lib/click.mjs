// Click's side of the SHOP API, played by the test: the form-encoded Prepare and Complete
// requests Click posts to the shop after the customer paid on Click's page, signed as
// docs.click.uz gives it:
//   sign_string = md5(click_trans_id + service_id + SECRET_KEY + merchant_trans_id
//                     [+ merchant_prepare_id] + amount + action + sign_time)
// merchant_trans_id is the order's reference: the `transaction_param` of its checkout_url (the
// shop does not take the order id there, which anyone could guess).
import { createHash } from 'node:crypto';

/**
 * @param {string} shopUrl
 * @param {{ serviceId: string, secret: string }} config
 * @param {{ clickTransId: number, reference: string, amount: string, action: 0 | 1, prepareId?: number }} req
 * @returns {Promise<any>} Click's JSON answer (the shop always answers HTTP 200)
 */
export async function clickCall(shopUrl, config, { clickTransId, reference, amount, action, prepareId }) {
  const signTime = '2026-11-25 12:00:00';
  const prep = prepareId === undefined ? '' : String(prepareId);
  const sign = createHash('md5')
    .update(`${clickTransId}${config.serviceId}${config.secret}${reference}${prep}${amount}${action}${signTime}`)
    .digest('hex');
  const form = new URLSearchParams({
    click_trans_id: String(clickTransId),
    service_id: config.serviceId,
    click_paydoc_id: String(clickTransId + 7_000_000),
    merchant_trans_id: reference,
    ...(prepareId === undefined ? {} : { merchant_prepare_id: prep }),
    amount,
    action: String(action),
    error: '0',
    error_note: 'Success',
    sign_time: signTime,
    sign_string: sign,
  });
  const endpoint = action === 0 ? 'prepare' : 'complete';
  const res = await fetch(`${shopUrl}/webhooks/click/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
  if (res.status !== 200) throw new Error(`Click ${endpoint}: HTTP ${res.status}`);
  return res.json();
}

// A scriptable SMPP 3.4 SMSC for tests, built on the npm `smpp` package (an independent
// implementation of the protocol). Scenario: one JSON object as argv[2]. Commands: JSON lines
// on stdin. Everything it sees: JSON lines on stdout.
//
// Scenario keys: system_id, password, id_base (first message id number), id_format
// ("hex"|"decimal", form of submit_sm_resp message_id), receipt_id_format ("same"|"hex"|
// "decimal", form of the id in the receipt text), receipt_tlvs (send receipted_message_id and
// message_state, default true), receipt_stat ("DELIVRD"), receipt_before_resp, statuses
// (command_status for the 1st, 2nd, ... submit_sm; then 0), resp_delay_ms, drop_on_submit
// (close the connection when the Nth submit_sm arrives, unanswered), nack_submits (numbers
// of the submit_sm PDUs answered with generic_nack ESME_RINVCMDLEN instead), quiet (report only
// "listening": for benchmarks, where a JSON line per PDU would cost more than the PDU), tls
// ({"key": PATH, "cert": PATH}: PEM files; the server then speaks SMPP over TLS only),
// hold_submits (numbers of the submit_sm PDUs taken but never answered), auto_receipts (a receipt
// after each answered submit_sm, default true).
// Long messages are reassembled from concatenation UDHs or SAR TLVs; a message_payload is
// read whole; each "message" event says how ("via": udh|sar|payload|single). stubborn: ignore
// SIGTERM and the end of stdin (a server that must be killed, for the helper's own test).
// Commands: {"cmd":"mo","from":..,"to":..,"text":..}, {"cmd":"enquire_link"}, {"cmd":"drop"},
// {"cmd":"raw","hex":..} (bytes written as they are, e.g. a malformed PDU),
// {"cmd":"receipt","n":N} (the receipt of the Nth submit_sm, on every bound session),
// {"cmd":"mo_long","from":..,"to":..,"text":..,"per_part":N,"ref":R,"order":[..]} (an incoming
// long SMS in parts of N characters behind a concatenation UDH, sent in the given order).
'use strict';
const fs = require('fs');
const smpp = require('smpp');
const readline = require('readline');

const cfg = Object.assign({
  system_id: 'hub', password: 'secret', id_base: 0x1a2b0, id_format: 'hex',
  receipt_id_format: 'same', receipt_tlvs: true, receipt_stat: 'DELIVRD',
  receipt_before_resp: false, statuses: [], resp_delay_ms: 0, drop_on_submit: 0, nack_submits: [], quiet: false,
  tls: null, stubborn: false, hold_submits: [], auto_receipts: true,
}, JSON.parse(process.argv[2] || '{}'));
const emit = (event, data) => {
  if (cfg.quiet && event !== 'listening') return;
  process.stdout.write(JSON.stringify(Object.assign({event}, data)) + '\n');
};
const sessions = new Set();
const parts = new Map();
const taken = new Map();  // submit number → what its receipt needs
let nextId = cfg.id_base, submits = 0, outstanding = 0, maxOutstanding = 0;

function receiptId(n) {
  const form = cfg.receipt_id_format === 'same' ? cfg.id_format : cfg.receipt_id_format;
  return form === 'hex' ? n.toString(16) : String(n);
}

// Which part of which long message a submit_sm is: a concatenation UDH (IE 0x00) or the SAR TLVs.
function concatOf(pdu) {
  const udh = (pdu.short_message.udh || []).find((ie) => ie[0] === 0x00);
  if (udh) return {via: 'udh', ref: udh[2], total: udh[3], seq: udh[4]};
  if (pdu.sar_msg_ref_num !== undefined) {
    return {via: 'sar', ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum};
  }
  return null;
}

// The text of a submit_sm as this library decodes it: the message_payload TLV when present.
function textOf(pdu) {
  if (pdu.message_payload !== undefined) return pdu.message_payload.message;
  return pdu.short_message.message;
}

function reassemble(pdu, text) {
  const concat = concatOf(pdu);
  if (!concat) {
    const via = pdu.message_payload !== undefined ? 'payload' : 'single';
    return emit('message', {from: pdu.source_addr, to: pdu.destination_addr, parts: 1, via, text});
  }
  const key = `${concat.via}|${pdu.source_addr}|${pdu.destination_addr}|${concat.ref}`;
  const got = parts.get(key) || new Map();
  got.set(concat.seq, text);
  parts.set(key, got);
  if (got.size === concat.total) {
    const ordered = [...got.keys()].sort((a, b) => a - b).map((k) => got.get(k));
    parts.delete(key);
    emit('message', {from: pdu.source_addr, to: pdu.destination_addr, parts: concat.total, ref: concat.ref,
      via: concat.via, text: ordered.join('')});
  }
}

function sendReceipt(session, t) {
  const fields = {source_addr: t.to, destination_addr: t.from, esm_class: 0x04,
    short_message: `id:${receiptId(t.n)} sub:001 dlvrd:001 submit date:2612061530 done date:2612061531 stat:${cfg.receipt_stat} err:000 text:`};
  if (cfg.receipt_tlvs) Object.assign(fields, {receipted_message_id: t.messageId, message_state: cfg.receipt_stat === 'DELIVRD' ? 2 : 5});
  session.deliver_sm(fields, (resp) => emit('deliver_sm_resp', {kind: 'receipt', status: resp.command_status, message_id: t.messageId}));
}

function onSubmit(session, pdu) {
  submits += 1;
  outstanding += 1;
  maxOutstanding = Math.max(maxOutstanding, outstanding);
  const status = cfg.statuses[submits - 1] || 0;
  const text = textOf(pdu);
  const udh = (pdu.short_message.udh || []).map((ie) => [...ie]);
  const sar = pdu.sar_msg_ref_num === undefined ? null
    : [pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum];
  emit('submit', {n: submits, seq: pdu.sequence_number, to: pdu.destination_addr, data_coding: pdu.data_coding,
    esm_class: pdu.esm_class, registered_delivery: pdu.registered_delivery, text, udh, sar,
    payload: pdu.message_payload !== undefined, status, outstanding});
  if (cfg.drop_on_submit && submits === cfg.drop_on_submit) { emit('dropped', {outstanding}); session.destroy(); return; }
  if (cfg.nack_submits.includes(submits)) {
    outstanding -= 1;
    session.send(new smpp.PDU('generic_nack', {sequence_number: pdu.sequence_number, command_status: smpp.ESME_RINVCMDLEN}));
    return;
  }
  const n = nextId++;
  const messageId = cfg.id_format === 'hex' ? n.toString(16) : String(n);
  const t = {n, messageId, to: pdu.destination_addr, from: pdu.source_addr};
  taken.set(submits, t);
  if (cfg.hold_submits.includes(submits)) { emit('held', {n: submits, message_id: messageId}); return; }
  const receipt = () => {
    if (!(pdu.registered_delivery & 1) || status !== 0 || !cfg.auto_receipts) return;
    sendReceipt(session, t);
  };
  const respond = () => {
    outstanding -= 1;
    if (status === 0 && !cfg.quiet) reassemble(pdu, text);
    session.send(pdu.response(status === 0 ? {message_id: messageId} : {command_status: status}));
  };
  if (cfg.receipt_before_resp) { receipt(); setTimeout(respond, cfg.resp_delay_ms + 50); return; }
  if (cfg.resp_delay_ms === 0) { respond(); setTimeout(receipt, 10); return; }
  setTimeout(() => { respond(); setTimeout(receipt, 10); }, cfg.resp_delay_ms);
}

const serverOptions = cfg.tls ? {key: fs.readFileSync(cfg.tls.key), cert: fs.readFileSync(cfg.tls.cert)} : {};
const server = smpp.createServer(serverOptions, (session) => {
  sessions.add(session);
  session.on('error', (e) => emit('error', {message: String(e)}));
  session.on('close', () => { sessions.delete(session); emit('close', {max_outstanding: maxOutstanding}); });
  session.on('bind_transceiver', (pdu) => {
    const ok = pdu.system_id === cfg.system_id && pdu.password === cfg.password;
    emit('bind', {system_id: pdu.system_id, ok});
    session.send(pdu.response(ok ? {system_id: 'TESTSMSC'} : {command_status: smpp.ESME_RBINDFAIL}));
  });
  session.on('submit_sm', (pdu) => onSubmit(session, pdu));
  session.on('enquire_link', (pdu) => { emit('enquire_link', {}); session.send(pdu.response()); });
  session.on('generic_nack', (pdu) => emit('generic_nack', {seq: pdu.sequence_number, status: pdu.command_status}));
  session.on('enquire_link_resp', (pdu) => emit('answered_enquire_link', {seq: pdu.sequence_number}));
  session.on('unbind', (pdu) => { emit('unbind', {}); session.send(pdu.response()); session.close(); });
});

readline.createInterface({input: process.stdin}).on('line', (line) => {
  const cmd = JSON.parse(line);
  for (const session of sessions) {
    if (cmd.cmd === 'mo') {
      session.deliver_sm({source_addr: cmd.from, destination_addr: cmd.to, short_message: cmd.text},
        (resp) => emit('deliver_sm_resp', {kind: 'mo', status: resp.command_status}));
    } else if (cmd.cmd === 'enquire_link') {
      session.enquire_link({}, (resp) => emit('enquire_link_resp', {status: resp.command_status}));
    } else if (cmd.cmd === 'mo_long') {
      const chunks = [];
      for (let i = 0; i < cmd.text.length; i += cmd.per_part) chunks.push(cmd.text.slice(i, i + cmd.per_part));
      for (const n of cmd.order || chunks.map((_, i) => i + 1)) {
        const udh = Buffer.from([0x05, 0x00, 0x03, cmd.ref, chunks.length, n]);
        session.deliver_sm({source_addr: cmd.from, destination_addr: cmd.to, data_coding: 8,
          short_message: {udh, message: chunks[n - 1]}},
          (resp) => emit('deliver_sm_resp', {kind: 'mo_part', part: n, status: resp.command_status}));
      }
    } else if (cmd.cmd === 'receipt') {
      sendReceipt(session, taken.get(cmd.n));
    } else if (cmd.cmd === 'raw') {
      session.socket.write(Buffer.from(cmd.hex, 'hex'));
    } else if (cmd.cmd === 'drop') {
      session.destroy();
    }
  }
}).on('close', () => { if (!cfg.stubborn) process.exit(0); });
if (cfg.stubborn) process.on('SIGTERM', () => emit('sigterm_ignored', {}));

if (cfg.tls) server.on('tlsClientError', (e) => emit('tls_error', {message: String(e)}));
server.listen(0, '127.0.0.1', () => emit('listening', {port: server.address().port, tls: Boolean(cfg.tls)}));

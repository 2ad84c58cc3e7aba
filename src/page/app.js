// The built-in page: phone → code → profile (invite code, referrals, inviter) → logout, over
// the REST API (api.js). Everything it shows is set as text (textContent, text nodes), never
// parsed as HTML; the page's CSP (src/page/mod.rs) turns HTML sinks off in any case.
import { ApiError, call, hasSession } from './api.js';

const $ = (id) => document.getElementById(id);
const STEPS = [$('phone-step'), $('code-step'), $('profile-step')];

// The number RequestCode normalised (E.164), for VerifyCode.
let pendingPhone = '';
// The next page of referrals; '' on the last page.
let nextReferralsPage = '';

/** Shows one step, with no error left over from before, and focuses its first field. */
function show(step) {
  for (const each of STEPS) each.hidden = each !== step;
  for (const box of document.querySelectorAll('.error')) say(box, []);
  step.querySelector('form:not([hidden]) input')?.focus();
}

/** Puts `lines` into `box` as text, or hides it when there are none. */
function say(box, lines) {
  box.textContent = lines.join('\n');
  box.hidden = lines.length === 0;
}

/**
 * Runs `action` with `button` disabled (no double submits), showing what went wrong in
 * `errorBox`. A 401 means the session ended: back to the phone step, saying so.
 */
async function run(button, errorBox, action) {
  button.disabled = true;
  say(errorBox, []);
  try {
    await action();
  } catch (error) {
    if (error instanceof ApiError && error.httpStatus === 401 && !$('profile-step').hidden) {
      show($('phone-step'));
      say($('phone-error'), ['Your session has ended. Log in again.']);
    } else {
      say(errorBox, error instanceof ApiError ? error.lines : [String(error)]);
    }
  } finally {
    button.disabled = false;
  }
}

/** Wires `form`'s submit (button or Enter) to `action`, with errors shown in `errorBox`. */
function onSubmit(form, errorBox, action) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(form.querySelector('button[type=submit]'), errorBox, action);
  });
}

onSubmit($('phone-form'), $('phone-error'), async () => {
  const sent = await call('POST', '/users/auth/', { phone_number: $('phone-number').value });
  pendingPhone = sent.phoneNumber;
  $('code-phone').textContent = sent.phoneNumber;
  $('code-expires').textContent = String(sent.expiresInSeconds);
  // Only the development console sender fills debugCode, as the seed's page showed it.
  $('debug-code').textContent = sent.debugCode;
  $('debug-code-note').hidden = sent.debugCode === '';
  const input = $('verification-code');
  input.value = '';
  input.maxLength = sent.codeLength || 8;
  show($('code-step'));
});

onSubmit($('code-form'), $('code-error'), async () => {
  const login = await call(
    'POST',
    '/users/user_login/',
    { phone_number: pendingPhone, verification_code: $('verification-code').value },
    // The session comes back as an HttpOnly cookie; the answer's sessionToken is empty.
    { 'x-session-delivery': 'cookie' },
  );
  $('phone-number').value = '';
  showProfile(login.profile);
});

onSubmit($('inviter-form'), $('profile-error'), async () => {
  const profile = await call('POST', '/users/profile/', { invited_by: $('invited-by').value });
  $('invited-by').value = '';
  showProfile(profile, `Inviter set: ${profile.invitedBy}.`);
});

$('other-phone').addEventListener('click', () => show($('phone-step')));

$('logout').addEventListener('click', (event) =>
  run(event.currentTarget, $('profile-error'), async () => {
    await call('POST', '/users/logout/');
    show($('phone-step'));
  }),
);

$('more-referrals').addEventListener('click', (event) =>
  run(event.currentTarget, $('profile-error'), async () => {
    const token = encodeURIComponent(nextReferralsPage);
    const page = await call('GET', `/users/profile/?referrals_page_token=${token}`);
    $('referrals').append(...page.referrals.map(referralItem));
    showMoreButton(page.nextReferralsPageToken);
  }),
);

/** Fills the profile step from a Profile, with `notice` under the inviter form. */
function showProfile(profile, notice = '') {
  $('profile-phone').textContent = profile.phoneNumber;
  $('profile-invite-code').textContent = profile.inviteCode;
  $('profile-invited-by').textContent = profile.invitedBy || 'nobody yet';
  // An inviter is set once and for good: the form goes once it is.
  $('inviter-form').hidden = profile.invitedBy !== '';
  // uint64 arrives as a decimal string in the proto3 JSON mapping.
  $('profile-referral-count').textContent = profile.referralCount;
  const items = profile.referrals.map(referralItem);
  if (items.length === 0) items.push(listNote('No one has used your invite code yet.'));
  $('referrals').replaceChildren(...items);
  showMoreButton(profile.nextReferralsPageToken);
  say($('inviter-done'), notice === '' ? [] : [notice]);
  show($('profile-step'));
}

function referralItem(referral) {
  const joined = new Date(referral.joinedAt).toLocaleDateString();
  const item = document.createElement('li');
  const phone = document.createElement('span');
  phone.className = 'referral-phone';
  phone.textContent = referral.phoneNumber;
  item.append(phone, ` joined ${joined}`);
  return item;
}

function listNote(text) {
  const item = document.createElement('li');
  item.className = 'empty';
  item.textContent = text;
  return item;
}

function showMoreButton(token) {
  nextReferralsPage = token;
  $('more-referrals').hidden = token === '';
}

// A reload keeps the session: the readable CSRF cookie says there may be one to ask about.
async function start() {
  if (!hasSession()) return show($('phone-step'));
  try {
    showProfile(await call('GET', '/users/profile/'));
  } catch {
    show($('phone-step'));
  }
}

start();

// __NAME__: users of an app with a SCIM 2.0 API, as an ILM plugin in JavaScript.
//
// The host calls the exports below (their WIT is in wit/plugin.wit: kebab-case names
// become camelCase). Errors are thrown as { code, message }. Requests go through the host's
// `send`, which allows only the instance's `url` and adds the bearer token: the plugin
// never sees it.
import { send } from 'ilm:plugin/http@0.1.0';
import { params } from 'ilm:plugin/instance@0.1.0';

const NAME = '__NAME__';
const VERSION = '0.1.0'; // keep __NAME__.toml's `version` equal to it
const LIST_COMMAND = `${NAME}-list-users`;
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function baseUrl() {
  const url = JSON.parse(params()).url;
  if (!url) throw { code: 'config', message: 'the instance has no url parameter: set it' };
  return url.replace(/\/+$/, '');
}

// Sends one request; returns the parsed JSON body, or null for a 404.
function request(method, path, body) {
  const headers = [['Accept', 'application/scim+json']];
  if (body !== undefined) headers.push(['Content-Type', 'application/scim+json']);
  const response = send({
    method,
    url: baseUrl() + path,
    headers,
    body: body === undefined ? undefined : encoder.encode(JSON.stringify(body)),
  });
  const text = decoder.decode(response.body);
  if (response.status === 404) return null;
  if (response.status >= 400) {
    let detail = text;
    try { detail = JSON.parse(text).detail || text; } catch (_) { /* not JSON: keep the text */ }
    throw { code: String(response.status), message: `${method} ${path}: ${detail}` };
  }
  try {
    return JSON.parse(text);
  } catch (_) {
    throw { code: '502', message: `${method} ${path}: the app answered something that is not JSON` };
  }
}

function appUser(user) {
  if (!user || !user.id) throw { code: '502', message: 'the app returned a user without an id' };
  const emails = Array.isArray(user.emails) ? user.emails : [];
  const email = emails.find((e) => e.primary) || emails[0];
  return {
    id: String(user.id),
    username: user.userName || '',
    email: (email && email.value) || '',
    active: user.active !== false,
    details: JSON.stringify(user),
  };
}

function filterValue(value) {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

function patch(id, changes) {
  const user = request('PATCH', `/Users/${encodeURIComponent(id)}`, {
    schemas: [PATCH_OP],
    Operations: [{ op: 'replace', value: changes }],
  });
  if (user === null) throw { code: '404', message: `the app has no user with id ${id}` };
  return appUser(user);
}

export const iam = {
  describe() {
    return { name: NAME, version: VERSION, commands: [LIST_COMMAND] };
  },
  identifyAttributes() {
    return ['id', 'userName', 'emails'];
  },
  findUser(by) {
    if (by.attribute === 'id') {
      const user = request('GET', `/Users/${encodeURIComponent(by.value)}`);
      return user === null ? undefined : appUser(user);
    }
    const filter = `${by.attribute} eq "${filterValue(by.value)}"`;
    const list = request('GET', `/Users?filter=${encodeURIComponent(filter)}`);
    const found = list && Array.isArray(list.Resources) ? list.Resources : [];
    return found.length === 0 ? undefined : appUser(found[0]);
  },
  createUser(profile) {
    const user = JSON.parse(profile);
    delete user.id;
    return appUser(request('POST', '/Users', { schemas: [CORE], ...user }));
  },
  updateUser(id, profile) {
    const changes = JSON.parse(profile);
    delete changes.id;
    delete changes.schemas;
    return patch(id, changes);
  },
  enableUser(id) {
    return patch(id, { active: true });
  },
  disableUser(id) {
    return patch(id, { active: false });
  },
  getMappingFields() {
    return [
      { name: 'userName', description: 'Login name' },
      { name: 'name', description: 'givenName and familyName' },
      { name: 'emails', description: 'Email addresses' },
      { name: 'title', description: 'Job title' },
      { name: 'externalId', description: 'Identifier in the HR system' },
    ];
  },
  testConnection() {
    request('GET', '/Users?count=1');
  },
};

export const commands = {
  run(name, args) {
    if (name !== LIST_COMMAND) {
      throw { code: 'unknown-command', message: `${NAME} has no command ${name}` };
    }
    const count = Number(JSON.parse(args || '{}').count || 100);
    const list = request('GET', `/Users?count=${count}`);
    return JSON.stringify((list && list.Resources) || []);
  },
};

export const fetch = {
  fetch(state) {
    throw { code: 'unsupported', message: `${NAME} is not a source: it does not fetch` };
  },
};

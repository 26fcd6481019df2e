// The pages' words for a refusal the server sends as data (web/src/api.ts sentence), run here without a
// browser: the dictionary and the formatting are plain functions; only the reader's language comes from storage.
import { beforeAll, describe, expect, it } from 'vitest';

const stored = new Map<string, string>();
beforeAll(() => {
  (globalThis as { localStorage?: unknown }).localStorage = { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => stored.set(k, v) };
});

/** Each refusal has a sentence in both languages, with every value filled in. */
async function expectWorded(refusals: { code: string }[]): Promise<void> {
  const { sentence } = await import('../web/src/api.ts');
  for (const lang of ['zh-CN', 'en']) {
    stored.set('cordon.lang', lang);
    for (const r of refusals) {
      const words = sentence('problem', r);
      expect(words, `${lang} ${r.code}`).toBeTruthy();
      expect(words, `${lang} ${r.code}`).not.toMatch(/\{\w+\}/);
    }
  }
  stored.delete('cordon.lang');
}

describe('a refusal in the reader’s words', () => {
  it('shows an instant as the pages show times, not as ISO text', async () => {
    const { sentence } = await import('../web/src/api.ts');
    const { when } = await import('../web/src/i18n.ts');
    const endsAt = '2022-04-20T16:00:00.000Z';
    const zh = sentence('problem', { code: 'orderRunning', orderId: 7, endsAt });
    expect(zh).toBe(`隔离令 7 要到 ${when(endsAt)} 才期满`);
    expect(zh).not.toContain('T16:00');
    stored.set('cordon.lang', 'en');
    expect(sentence('problem', { code: 'orderRunning', orderId: 7, endsAt })).toBe(`Quarantine order 7 runs until ${when(endsAt)}`);
    expect(when(endsAt)).toMatch(/Apr/);
    stored.delete('cordon.lang');
  });

  it('words a value by its vocabulary and keeps a day as it is', async () => {
    const { sentence } = await import('../web/src/api.ts');
    expect(sentence('problem', { code: 'feedbackAtEnd', requestId: 3, requestStatus: 'open' })).toBe('诉求 3 当前为“待接单”：办结或退回后才能确认或投诉');
    expect(sentence('problem', { code: 'zonesNoDay', day: '2022-05-01', firstDay: '2022-03-01', lastDay: '2022-04-30' })).toBe('2022-05-01 没有区划：记录从 2022-03-01 到 2022-04-30');
    // No sentence for a code the dictionary does not know: the page shows the server's words instead.
    expect(sentence('problem', { code: 'nothingKnown' })).toBeNull();
  });

  it('words every refusal of the vaccination rules in both languages, with every value filled in', async () => {
    const { bookingProblems, doseProblems, problemsBody, vaccinationState } = await import('../src/support/rules.ts');
    const { loadPreset } = await import('../src/core/presets.ts');
    const p = loadPreset('shanghai-2022-05');
    const dose = (n: number, givenOn: string) => ({ dose: n, product: 'CoronaVac', givenOn });
    const now = new Date('2022-04-12T00:00:00Z');
    const problems = [
      ...doseProblems([dose(1, '2021-05-01')], { dose: 1, givenOn: '2022-05-01' }, '1950-01-01', '2022-04-12'),
      ...doseProblems([], { dose: 1, givenOn: '1949-05-01' }, '1950-01-01', '2022-04-12'),
      ...doseProblems([dose(1, '2021-05-01')], { dose: 3, givenOn: '2021-06-01' }, '1950-01-01', '2022-04-12'),
      ...doseProblems([dose(1, '2021-05-01')], { dose: 2, givenOn: '2021-04-01' }, '1950-01-01', '2022-04-12'),
      ...bookingProblems({ vaccinates: false, opens: '08:00', closes: '20:00', stations: 1 }, new Date('2022-04-11T13:00:00Z'), vaccinationState([dose(1, '2022-04-01')], p, '2022-04-12'), 99, p, now).problems,
      ...bookingProblems({ vaccinates: true, opens: '08:00', closes: '20:00', stations: 1 }, new Date('2022-04-13T02:00:00Z'), vaccinationState([dose(1, '2021-01-01'), dose(2, '2021-02-01'), dose(3, '2021-09-01')], p, '2022-04-12'), 0, p, now).problems,
    ];
    expect(new Set(problems.map((x) => x.code))).toEqual(new Set(['doseInFuture', 'doseBeforeBirth', 'doseRecorded', 'dosePreviousMissing', 'doseBeforePrevious', 'pointNotVaccinating', 'slotOutsideHours', 'slotPassed', 'noDoseToBook', 'doseNotDue', 'slotFull']));
    // As the API sends it: the first problem's code and values at the top of the body.
    await expectWorded(problems.map((x) => problemsBody([x]) as { code: string }));
  });

  it('words every refusal of the registry’s field rules in both languages, naming the field as the pages do', async () => {
    const { sentence } = await import('../web/src/api.ts');
    const v = await import('../src/registry/validation.ts');
    const refusals = [
      () => v.text('', 'name', { required: true }),
      () => v.text('x'.repeat(201), 'name'),
      () => v.int('1.5', 'floors'),
      () => v.int('-1', 'floors', { min: 0 }),
      () => v.int('99', 'floors', { max: 50 }),
      () => v.num('north', 'lat'),
      () => v.bool('maybe', 'vaccinates'),
      () => v.date('1995-02-30', 'birthDate'),
      () => v.date('1850-01-01', 'birthDate'),
      () => v.date('2999-01-01', 'birthDate', '2022-04-12'),
      () => v.time('25:00', 'opens', '08:00'),
      () => v.oneOf('Z', 'sex', ['F', 'M']),
      () => v.list('asthma', 'comorbidities', ['diabetes']),
      () => v.phone('call me'),
      () => v.idNumber('123'),
      () => v.geometry('{'),
      () => v.checkGeometry({ type: 'Circle' }),
    ];
    const data = refusals.map((f) => {
      try {
        f();
      } catch (e) {
        if (e instanceof v.RowError) return e.data!;
      }
      throw new Error(`not refused: ${f}`);
    });
    expect(new Set(data.map((d) => d.code)).size).toBe(16);
    await expectWorded(data);
    // The field as the pages name it, and the ID number itself never in the data.
    expect(sentence('problem', data[7])).toBe('出生日期“1995-02-30”不是有效日期（年-月-日）');
    expect(JSON.stringify(data[14])).not.toContain('123');
  });

  it('words the refusals of a route’s schema in both languages', async () => {
    const { sentence } = await import('../web/src/api.ts');
    const { schemaProblem } = await import('../src/core/http.ts');
    const body = { personId: 'abc', kind: 'nearby', at: 'yesterday', day: '2022-02-30', n: -1, m: 99, ok: 'maybe', x: 1.5, code: 'a' };
    const refusals = [
      { keyword: 'required', instancePath: '', params: { missingProperty: 'origin' } },
      { keyword: 'minLength', instancePath: '/code', params: { limit: 4 } },
      { keyword: 'maxLength', instancePath: '/code', params: { limit: 200 } },
      { keyword: 'minimum', instancePath: '/n', params: { limit: 0 } },
      { keyword: 'maximum', instancePath: '/m', params: { limit: 50 } },
      { keyword: 'enum', instancePath: '/kind', params: { allowedValues: ['inbound', 'lowRisk'] } },
      { keyword: 'type', instancePath: '/personId', params: { type: 'integer' } },
      { keyword: 'type', instancePath: '/x', params: { type: 'number' } },
      { keyword: 'type', instancePath: '/ok', params: { type: 'boolean' } },
      { keyword: 'format', instancePath: '/day', params: { format: 'date' } },
      { keyword: 'format', instancePath: '/at', params: { format: 'date-time' } },
      { keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'shoeSize' } },
    ].map((v) => schemaProblem(v, body)!);
    expect(refusals.map((r) => r.code)).toEqual(['fieldMissing', 'fieldTooShort', 'fieldTooLong', 'fieldBelowMin', 'fieldAboveMax', 'fieldNotInList', 'fieldNotWholeNumber', 'fieldNotNumber', 'fieldNotBoolean', 'fieldNotDate', 'fieldNotInstant', 'fieldUnknown']);
    await expectWorded(refusals);
    expect(sentence('problem', refusals[5])).toBe('类型“nearby”不是可选值（inbound, lowRisk）之一');
  });
});

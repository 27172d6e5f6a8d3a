import { isPrivateAddress } from '../../../src/activities/notify/outbound';
import { httpCheck } from '../../../src/shared/checks';

test('loopback, private, link-local, shared and reserved addresses are private; public ones are not', () => {
  const refused = [
    '127.0.0.1',
    '127.255.0.9',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.100.100.200',
    '255.255.255.255',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:a9fe:a9fe',
    'fd00:ec2::254',
    'fe80::1',
    'ff02::1',
    'not-an-address',
  ];
  const allowed = ['8.8.8.8', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'];
  expect(refused.filter((a) => !isPrivateAddress(a))).toEqual([]);
  expect(allowed.filter((a) => isPrivateAddress(a))).toEqual([]);
});

test('an http check bounds its URL and its bodyIncludes, naming the field', () => {
  const check = (extra: object) => httpCheck.safeParse({ kind: 'http', url: 'https://app.example.com/h', ...extra });
  expect(check({ bodyIncludes: 'x'.repeat(200) }).success).toBe(true);
  expect(check({ bodyIncludes: 'x'.repeat(201) }).error?.issues[0]?.path).toEqual(['bodyIncludes']);
  expect(check({ url: `https://app.example.com/${'a'.repeat(1976)}` }).success).toBe(true);
  expect(check({ url: `https://app.example.com/${'a'.repeat(1977)}` }).error?.issues[0]?.path).toEqual(['url']);
});

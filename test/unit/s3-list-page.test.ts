// The fast reader of ListObjectsV2 pages (src/backends/s3/list-page.ts): what it reads, and the
// shapes it leaves to the SDK's parser (undefined) instead of reading them some other way. Pages
// written by real servers are compared with the SDK's reading in test/backends/s3.test.ts.

import { describe, expect, it } from 'vitest';
import { pagingOnlyXml, readListPage } from '../../src/backends/s3/list-page.js';

const page = (contents: string, tail = '<IsTruncated>false</IsTruncated>') =>
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>${tail}${contents}</ListBucketResult>`;
const entry = (key: string, extra = '') =>
  `<Contents><Key>${key}</Key><LastModified>2026-01-02T03:04:05.678Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>12</Size>${extra}</Contents>`;

describe('readListPage', () => {
  it('reads keys (entities decoded), sizes, dates, ETags and the paging fields', () => {
    const read = readListPage(page(entry('a/x&amp;y&lt;z&gt;&quot;&apos;&#233;&#x263A;.ts') + entry('a/b.ts', '<Owner><ID>o</ID></Owner><StorageClass>STANDARD</StorageClass>'), '<IsTruncated>true</IsTruncated><NextContinuationToken>t&amp;1</NextContinuationToken>'));
    expect(read).toEqual({
      truncated: true,
      nextToken: 't&1',
      objects: [
        { key: `a/x&y<z>"'é☺.ts`, size: 12, modified: new Date('2026-01-02T03:04:05.678Z'), etag: '"d41d8cd98f00b204e9800998ecf8427e"' },
        { key: 'a/b.ts', size: 12, modified: new Date('2026-01-02T03:04:05.678Z'), etag: '"d41d8cd98f00b204e9800998ecf8427e"' },
      ],
    });
  });

  it('reads the paging fields after the entries too, and an empty page', () => {
    expect(readListPage(page(entry('k.ts'), '') .replace('</ListBucketResult>', '<IsTruncated>true</IsTruncated><NextContinuationToken>n</NextContinuationToken></ListBucketResult>'))).toMatchObject({ truncated: true, nextToken: 'n' });
    expect(readListPage(page(''))).toEqual({ objects: [], truncated: false, nextToken: undefined });
  });

  it.each([
    ['CDATA', page(entry('<![CDATA[k.ts]]>'))],
    ['a comment', page(`<!-- x -->${entry('k.ts')}`)],
    ['a Contents element with attributes', page(entry('k.ts').replace('<Contents>', '<Contents a="1">'))],
    ['a Key with a nested element', page(entry('<b>k</b>'))],
    ['an empty Key', page(entry(''))],
    ['a self-closing Key', page(entry('k.ts').replace('<Key>k.ts</Key>', '<Key/>'))],
    ['a size that is not a number', page(entry('k.ts').replace('<Size>12</Size>', '<Size>x</Size>'))],
    ['a date that does not parse', page(entry('k.ts').replace('2026-01-02T03:04:05.678Z', 'yesterday'))],
    ['no IsTruncated', page(entry('k.ts'), '')],
    ['url-encoded keys', page(entry('k.ts'), '<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>')],
    ['an error document', '<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>'],
  ])('leaves %s to the SDK', (_what, xml) => {
    expect(readListPage(xml)).toBeUndefined();
  });

  it('hands the SDK a stand-in page with the same paging fields', () => {
    const stand = pagingOnlyXml({ objects: [], truncated: true, nextToken: 'a<&>b' });
    expect(readListPage(stand)).toEqual({ objects: [], truncated: true, nextToken: 'a<&>b' });
  });
});

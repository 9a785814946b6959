// Tests for the text cleaning in front of CLIP BPE: Python html.unescape semantics and the ftfy-lite subset
// (expected values follow ftfy 6.2.3's documented behaviour and examples).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanClipText, fixTextLite, pythonHtmlUnescape } from './tokenizer-clean.ts';

test('cleanClipText: strip, collapse every Unicode whitespace run, lower-case', () => {
  assert.equal(cleanClipText("  it's   DON'T\tI'm\nwe'll  "), "it's don't i'm we'll");
  assert.equal(cleanClipText('a\u00a0b\u2003c\u3000d\u2028e'), 'a b c d e');
  assert.equal(cleanClipText(''), '');
  assert.equal(cleanClipText(' \t\n '), '');
});

test('pythonHtmlUnescape follows html.unescape (legacy names, longest prefix, invalid code points)', () => {
  assert.equal(pythonHtmlUnescape('&amp; &lt;b&gt; &quot;x&quot; &#39;'), '& <b> "x" \'');
  assert.equal(pythonHtmlUnescape('&copy 2024 &ampx &notit;'), '© 2024 &x ¬it;');
  assert.equal(pythonHtmlUnescape('&#x41;&#66;&#0067;'), 'ABC');
  assert.equal(pythonHtmlUnescape('&#128;&#x9F;'), '€Ÿ'); // C1 references read as windows-1252
  assert.equal(pythonHtmlUnescape('&#0;&#xD800;&#x110000;'), '\ufffd\ufffd\ufffd');
  assert.equal(pythonHtmlUnescape('a&#1;b&#xFFFF;c'), 'abc');
  assert.equal(pythonHtmlUnescape('&unknown; & &;'), '&unknown; & &;');
  assert.equal(pythonHtmlUnescape('&amp;amp;'), '&amp;'); // one pass only
});

test('ftfy-lite: quotes, ligatures, character width, NFC', () => {
  assert.equal(fixTextLite('\u201cCurly\u201d \u2018single\u2019 it\u02bcs'), '"Curly" \'single\' it\'s');
  assert.equal(fixTextLite('ﬂuﬃeﬆ ĳ'), 'fluffiest ij');
  assert.equal(fixTextLite('ＦＵＬＬ　ｗｉｄｔｈ１２３'), 'FULL width123');
  assert.equal(fixTextLite('ﾊﾟｰﾃｨｰ'), 'パーティー'); // half-width kana + sound mark composes under NFC
  assert.equal(fixTextLite('cafe\u0301'), 'café');
});

test('ftfy-lite: control characters, terminal escapes, surrogates, C1 controls', () => {
  assert.equal(fixTextLite('\ufeffa\u0000b\u0007c\u200bd'), 'abc\u200bd');
  assert.equal(fixTextLite('\x1b[31mred\x1b[0m'), 'red');
  assert.equal(fixTextLite('a\ud800b'), 'a\ufffdb');
  assert.equal(fixTextLite('\x93quoted\x94 \x85'), '"quoted" …');
  assert.equal(fixTextLite('a\r\nb\rc'), 'a\nb\nc');
});

test('ftfy-lite: HTML entities get one extra pass unless the line contains <', () => {
  assert.equal(fixTextLite('P&EACUTE;REZ &ntilde; &Ntilde; &NTILDE; &nTILDE;'), 'PÉREZ ñ Ñ Ñ &nTILDE;');
  assert.equal(fixTextLite('&amp;amp;'), '&');
  assert.equal(fixTextLite('&copy 2024'), '&copy 2024'); // ftfy needs the semicolon
  assert.equal(cleanClipText('fish &amp;amp;amp; chips'), 'fish & chips'); // ftfy + two html.unescape passes
  assert.equal(cleanClipText('<b>&amp;amp;amp;</b>'), '<b>&amp;</b>'); // '<' turns ftfy's pass off
});

test('ftfy-lite: UTF-8 read as latin-1 / windows-1252 is repaired, whole or in runs', () => {
  assert.equal(fixTextLite('cafÃ©'), 'café');
  assert.equal(fixTextLite('Ã¼ber naÃ¯ve'), 'über naïve');
  assert.equal(fixTextLite('donâ€™t'), "don't"); // ’ then uncurled
  assert.equal(fixTextLite('ðŸ˜Ž'), '😎');
  assert.equal(fixTextLite('naïve cafÃ©'), 'naïve café'); // mixed: only the mojibake run is decoded
  assert.equal(fixTextLite('ÃƒÂ©'), 'é'); // double mojibake, fixed until stable
  assert.equal(fixTextLite('\u201cCurly quotes\u201d ﬁne ＦＵＬＬＷＩＤＴＨ and mojibake cafÃ©'),
    '"Curly quotes" fine FULLWIDTH and mojibake café');
});

test('ftfy-lite leaves real accented text alone', () => {
  for (const text of ['café naïve résumé Zürich São Paulo Ångström', 'Ærøskøbing', 'É² Ü½', '東京の夜景', 'a cat 🐱 ❤️']) {
    assert.equal(fixTextLite(text), text.normalize('NFC'));
  }
});

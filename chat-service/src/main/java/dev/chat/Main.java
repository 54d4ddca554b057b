package dev.chat; public class Main { public static void main(String[] a) {} }
